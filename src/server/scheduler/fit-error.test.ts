import { expect, test } from "bun:test";
import { fitErrorMessage } from "./fit-error";

test("reasons are counted and sorted as strings, as upstream's FitError", () => {
  const reasons = new Map([
    ["Insufficient cpu", 8],
    ["node(s) were unschedulable", 2],
  ]);
  expect(fitErrorMessage(10, reasons)).toBe("0/10 nodes are available: 2 node(s) were unschedulable, 8 Insufficient cpu.");
});

test("no nodes at all", () => {
  expect(fitErrorMessage(0, new Map())).toBe("no nodes available to schedule pods");
});
