import { describe, expect, test } from "bun:test";
import type { PodDisruptionBudget } from "../../api/resources/policy/poddisruptionbudget";
import { budgetSplitter } from "./budgets";
import type { PodInfo } from "./types";

const pod = (name: string, labels: Record<string, string>, namespace = "ns") => ({ name, namespace, labels }) as unknown as PodInfo;
const budget = (allowed: number, selector: NonNullable<PodDisruptionBudget["spec"]>["selector"], extra: Partial<NonNullable<PodDisruptionBudget["status"]>> = {}, namespace = "ns") =>
  ({ metadata: { name: "b", namespace }, spec: { selector }, status: { disruptionsAllowed: allowed, ...extra } }) as unknown as PodDisruptionBudget;
const names = (ps: PodInfo[]) => ps.map((p) => p.name);

describe("budgetSplitter", () => {
  test("victims past a budget's allowed disruptions violate it, most important first", () => {
    const split = budgetSplitter(() => [budget(1, { matchLabels: { app: "db" } })]);
    const { violating, other } = split([pod("a", { app: "db" }), pod("b", { app: "db" }), pod("c", { app: "web" })]);
    expect(names(violating)).toEqual(["b"]);
    expect(names(other)).toEqual(["a", "c"]);
  });

  test("budgets of other namespaces, empty or missing selectors protect nothing", () => {
    const split = budgetSplitter(() => [budget(0, { matchLabels: { app: "db" } }, {}, "other"), budget(0, {}), budget(0, undefined as never)]);
    expect(names(split([pod("a", { app: "db" })]).violating)).toEqual([]);
  });

  test("a pod already in disruptedPods was counted by its eviction", () => {
    const split = budgetSplitter(() => [budget(0, { matchLabels: { app: "db" } }, { disruptedPods: { a: "2026-01-01T00:00:00Z" } })]);
    expect(names(split([pod("a", { app: "db" }), pod("b", { app: "db" })]).violating)).toEqual(["b"]);
  });
});
