import { describe, expect, test } from "bun:test";
import { ApiError } from "../../../api/errors";
import type { Pod } from "../../../api/resources/core/pod";
import type { PodDisruptionBudget } from "../../../api/resources/policy/poddisruptionbudget";
import { BUDGET_VIOLATION_MESSAGE, evictionVerdict, takeDisruption } from "./eviction-policy";

const pod = (phase: string, ready: boolean, labels: Record<string, string> = { app: "web" }): Pod => ({
  metadata: { name: "web-1", namespace: "default", labels, resourceVersion: "7" },
  spec: { containers: [{ name: "c", image: "busybox" }] },
  status: { phase, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});

const pdb = (name: string, status: PodDisruptionBudget["status"], spec: PodDisruptionBudget["spec"] = {}): PodDisruptionBudget => ({
  metadata: { name, namespace: "default", generation: 1 },
  spec: { selector: { matchLabels: { app: "web" } }, ...spec },
  status: { observedGeneration: 1, ...status },
});

const errorOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as ApiError;
  }
  throw new Error("expected an error");
};

describe("eviction verdict", () => {
  test("no budget: delete, pinned to the judged version", () => {
    expect(evictionVerdict(pod("Running", true), [])).toEqual({ action: "delete", pinVersion: true });
    expect(evictionVerdict(pod("Running", true), [pdb("other", {}, { selector: { matchLabels: { app: "db" } } })])).toEqual({ action: "delete", pinVersion: true });
  });

  test("pending, finished or terminating pods ignore budgets", () => {
    const budget = pdb("b", { disruptionsAllowed: 0 });
    for (const phase of ["Pending", "Succeeded", "Failed"]) expect(evictionVerdict(pod(phase, false), [budget]).action).toBe("delete");
    const terminating = pod("Running", true);
    terminating.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    expect(evictionVerdict(terminating, [budget]).action).toBe("delete");
  });

  test("a ready pod under one budget takes a disruption from it", () => {
    const budget = pdb("b", { disruptionsAllowed: 1 });
    expect(evictionVerdict(pod("Running", true), [budget])).toEqual({ action: "decrement", pdb: budget });
  });

  test("more than one budget is an internal error, as upstream", () => {
    const e = errorOf(() => evictionVerdict(pod("Running", true), [pdb("a", {}), pdb("b", {})]));
    expect(e.code).toBe(500);
    expect(e.message).toBe("Internal error occurred: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
  });

  test("selectors: none matches nothing, empty matches every pod", () => {
    expect(evictionVerdict(pod("Running", true), [pdb("b", {}, { selector: undefined })]).action).toBe("delete");
    const all = pdb("b", {}, { selector: {} });
    all.spec!.selector = {};
    expect(evictionVerdict(pod("Running", true, { x: "y" }), [all]).action).toBe("decrement");
  });

  test("unready pods: IfHealthyBudget deletes only while the budget is met; AlwaysAllow always", () => {
    const met = pdb("b", { currentHealthy: 2, desiredHealthy: 2, disruptionsAllowed: 0 });
    expect(evictionVerdict(pod("Running", false), [met])).toEqual({ action: "delete", pinVersion: true });
    const short = pdb("b", { currentHealthy: 1, desiredHealthy: 2, disruptionsAllowed: 0 });
    expect(evictionVerdict(pod("Running", false), [short]).action).toBe("decrement");
    const zero = pdb("b", { currentHealthy: 0, desiredHealthy: 0 });
    expect(evictionVerdict(pod("Running", false), [zero]).action).toBe("decrement");
    const always = pdb("b", { currentHealthy: 0, desiredHealthy: 2 }, { unhealthyPodEvictionPolicy: "AlwaysAllow" });
    expect(evictionVerdict(pod("Running", false), [always])).toEqual({ action: "delete", pinVersion: true });
    expect(evictionVerdict(pod("Running", true), [always]).action).toBe("decrement");
  });
});

describe("taking a disruption", () => {
  const now = "2026-01-01T00:00:00Z";

  test("decrements, records the pod, and flips the condition at zero", () => {
    const next = takeDisruption(pdb("b", { disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, conditions: [{ type: "DisruptionAllowed", status: "True", reason: "SufficientPods", message: "", observedGeneration: 1, lastTransitionTime: "2025-01-01T00:00:00Z" }] }), "web-1", now, false);
    expect(next.status?.disruptionsAllowed).toBe(0);
    expect(next.status?.disruptedPods).toEqual({ "web-1": now });
    expect(next.status?.conditions).toEqual([{ type: "DisruptionAllowed", status: "False", reason: "InsufficientPods", message: "", observedGeneration: 1, lastTransitionTime: now }]);
  });

  test("dry run records nothing", () => {
    const next = takeDisruption(pdb("b", { disruptionsAllowed: 2 }), "web-1", now, true);
    expect(next.status?.disruptionsAllowed).toBe(1);
    expect(next.status?.disruptedPods).toBeUndefined();
  });

  test("no disruption left: 429 with the DisruptionBudget cause and no Retry-After", () => {
    const e = errorOf(() => takeDisruption(pdb("b", { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2 }), "web-1", now, false));
    expect(e.code).toBe(429);
    expect(e.reason).toBe("TooManyRequests");
    expect(e.message).toBe(BUDGET_VIOLATION_MESSAGE);
    expect(e.details).toEqual({ causes: [{ reason: "DisruptionBudget", message: "The disruption budget b needs 2 healthy pods and has 2 currently" }] });
  });

  test("a budget the controller has not processed yet: 429, retry after 10 s", () => {
    const budget = pdb("b", { disruptionsAllowed: 3 });
    budget.metadata.generation = 2;
    const e = errorOf(() => takeDisruption(budget, "web-1", now, false));
    expect(e.code).toBe(429);
    expect(e.details?.retryAfterSeconds).toBe(10);
    expect(e.details?.causes?.[0]?.message).toBe("The disruption budget b is still being processed by the server.");
  });

  test("a negative budget is forbidden", () => {
    expect(errorOf(() => takeDisruption(pdb("b", { disruptionsAllowed: -1 }), "web-1", now, false)).code).toBe(403);
  });
});
