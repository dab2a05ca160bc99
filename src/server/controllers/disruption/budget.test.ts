import { describe, expect, test } from "bun:test";
import type { Pod } from "../../../api/resources/core/pod";
import type { PodDisruptionBudget } from "../../../api/resources/policy/poddisruptionbudget";
import { budgetCounts, countHealthy, DELETION_TIMEOUT_MS, disruptedPodsNow, nextStatus, scaledValue, type ScaleFinder } from "./budget";

const ref = (uid: string) => ({ apiVersion: "apps/v1", kind: "ReplicaSet", name: `rs-${uid}`, uid, controller: true });
const pod = (name: string, ready: boolean, owner?: string): Pod => ({
  metadata: { name, namespace: "ns", ...(owner && { ownerReferences: [ref(owner)] }) },
  status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});
const pdb = (spec: PodDisruptionBudget["spec"], status: PodDisruptionBudget["status"] = {}): PodDisruptionBudget => ({ metadata: { name: "b", namespace: "ns", generation: 1 }, spec, status });
const scales: Record<string, number> = { a: 5, b: 3 };
const find: ScaleFinder = async (r) => (scales[r.uid] === undefined ? undefined : { uid: r.uid, scale: scales[r.uid]! });

describe("budget arithmetic", () => {
  test("percentages round up", () => {
    expect(scaledValue("30%", 4)).toBe(2);
    expect(scaledValue("50%", 5)).toBe(3);
    expect(scaledValue(2, 10)).toBe(2);
  });

  test("integer minAvailable counts pods; percentages and maxUnavailable use controllers' scale, each once", async () => {
    const pods = [pod("p1", true, "a"), pod("p2", true, "a"), pod("p3", true, "b")];
    expect(await budgetCounts(pdb({ minAvailable: 2 }), pods, find)).toEqual({ expectedPods: 3, desiredHealthy: 2, unmanaged: [] });
    expect(await budgetCounts(pdb({ minAvailable: "50%" }), pods, find)).toEqual({ expectedPods: 8, desiredHealthy: 4, unmanaged: [] });
    expect(await budgetCounts(pdb({ maxUnavailable: 1 }), pods, find)).toEqual({ expectedPods: 8, desiredHealthy: 7, unmanaged: [] });
    expect(await budgetCounts(pdb({ maxUnavailable: "100%" }), [pod("p4", true)], find)).toEqual({ expectedPods: 0, desiredHealthy: 0, unmanaged: ["p4"] });
    await expect(budgetCounts(pdb({ maxUnavailable: 1 }), [pod("p5", true, "missing")], find)).rejects.toThrow('found no controllers for pod "p5"');
  });

  test("disruptedPods: in flight until the timeout, then overdue; a pod being deleted leaves the map", () => {
    const now = Date.parse("2026-01-01T00:10:00Z");
    const recent = "2026-01-01T00:09:30Z";
    const old = new Date(now - DELETION_TIMEOUT_MS - 1000).toISOString();
    const terminating = pod("p3", true);
    terminating.metadata.deletionTimestamp = recent;
    const budget = pdb({ minAvailable: 1 }, { disruptedPods: { p1: recent, p2: old, p3: recent } });
    const pods = [pod("p1", true), pod("p2", true), terminating, pod("p4", true), pod("p5", false)];
    const { inFlight, overdue, recheckAtMs } = disruptedPodsNow(budget, pods, now);
    expect(inFlight).toEqual({ p1: recent });
    expect(overdue).toEqual(["p2"]);
    expect(recheckAtMs).toBe(Date.parse(recent) + DELETION_TIMEOUT_MS);
    // p1 (just evicted), p3 (terminating) and p5 (unready) are not healthy.
    expect(countHealthy(pods, inFlight, now)).toBe(2);
  });

  test("status: nothing expected allows nothing; unchanged status is not rewritten; the condition follows", () => {
    const now = "2026-01-01T00:00:00Z";
    const empty = nextStatus(pdb({ minAvailable: 0 }), { currentHealthy: 0, desiredHealthy: 0, expectedPods: 0, disruptedPods: {} }, now)!;
    expect(empty.disruptionsAllowed).toBe(0);
    expect(empty.conditions).toEqual([{ type: "DisruptionAllowed", status: "False", reason: "InsufficientPods", message: "", observedGeneration: 1, lastTransitionTime: now }]);
    const budget = pdb({ minAvailable: 1 }, empty);
    const next = nextStatus(budget, { currentHealthy: 3, desiredHealthy: 1, expectedPods: 3, disruptedPods: {} }, "2026-01-01T00:01:00Z")!;
    expect(next).toMatchObject({ disruptionsAllowed: 2, currentHealthy: 3, desiredHealthy: 1, expectedPods: 3, observedGeneration: 1 });
    expect(next.conditions?.[0]).toMatchObject({ status: "True", reason: "SufficientPods", lastTransitionTime: "2026-01-01T00:01:00Z" });
    expect(nextStatus(pdb({ minAvailable: 1 }, next), { currentHealthy: 3, desiredHealthy: 1, expectedPods: 3, disruptedPods: {} }, now)).toBeUndefined();
  });
});
