import { afterEach, expect, test } from "bun:test";
import { inCI, missingCommand, missingFile, requirements } from "./test-requirements";

const ci = process.env.CI;
afterEach(() => {
  if (ci === undefined) delete process.env.CI;
  else process.env.CI = ci;
});

test("CI is on for any value but empty, 0 and false", () => {
  expect([undefined, "", "0", "false", "FALSE"].map((v) => inCI({ CI: v }))).toEqual([false, false, false, false, false]);
  expect(["true", "1", "yes"].map((v) => inCI({ CI: v }))).toEqual([true, true, true]);
});

test("a missing requirement is a skip reason locally and a failure in CI", () => {
  const gone = missingCommand("bramble-no-such-command");
  expect(gone).toBe("bramble-no-such-command is not on PATH");
  expect(missingFile("/nonexistent/x", "apt-get install x")).toBe("/nonexistent/x does not exist (apt-get install x)");
  expect(missingCommand("sh")).toBeUndefined();

  process.env.CI = "false";
  expect(requirements("these tests", undefined, gone)).toBe(gone!);
  expect(requirements("these tests", undefined, missingCommand("sh"))).toBeUndefined();
  process.env.CI = "true";
  expect(() => requirements("these tests", gone)).toThrow("these tests: bramble-no-such-command is not on PATH; CI (CI=true)");
  expect(requirements("these tests")).toBeUndefined();
});
