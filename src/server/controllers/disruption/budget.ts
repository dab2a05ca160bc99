// What a PodDisruptionBudget's status should say, from its pods and their controllers' scale:
// the disruption controller's arithmetic, kept pure so it can be tested without a server.
// - expectedPods: for an integer minAvailable, the number of matching pods; otherwise the sum of
//   the desired replicas of the pods' controllers (each counted once).
// - desiredHealthy: minAvailable (scaled for a percentage, rounding up), or expected minus
//   maxUnavailable (scaled, rounding up), never below 0.
// - currentHealthy: matching pods that are Ready, not being deleted and not just evicted.
// - disruptionsAllowed: currentHealthy - desiredHealthy, 0 when negative or nothing is expected.
import type { OwnerReference } from "../../../api/meta";
import type { Pod } from "../../../api/resources/core/pod";
import type { MetaCondition, PodDisruptionBudget, PodDisruptionBudgetStatus } from "../../../api/resources/policy/poddisruptionbudget";
import { jsonEqual } from "../../../api/resources/common";
import { controllerRefOf, isPodReady } from "../podutil";

/**
 * How long an eviction's entry in status.disruptedPods keeps its pod out of currentHealthy: a pod
 * the eviction subresource promised to delete but that is still there after this is counted again.
 */
export const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

/** A controller of pods and its desired replicas, found from a pod's controller reference. */
export interface ControllerScale {
  uid: string;
  scale: number;
}

/** Finds the scale of the controller a reference names; undefined when it is not a known kind or not there. */
export type ScaleFinder = (ref: OwnerReference, namespace: string) => Promise<ControllerScale | undefined>;

export interface BudgetCounts {
  expectedPods: number;
  desiredHealthy: number;
  /** Names of matching pods without a controller (their budget cannot be computed from a scale). */
  unmanaged: string[];
}

/** intstr.GetScaledValueFromIntOrPercent with rounding up. */
export function scaledValue(v: number | string, total: number): number {
  if (typeof v === "number") return v;
  const m = /^([0-9]+)%$/.exec(v);
  if (!m) throw new Error(`invalid value for IntOrString: invalid value "${v}"`);
  return Math.ceil((Number(m[1]) * total) / 100);
}

/** The desired replicas behind the pods, each controller once; throws when a pod's controller cannot be found. */
async function expectedScale(pods: Pod[], find: ScaleFinder): Promise<{ expected: number; unmanaged: string[] }> {
  const scales = new Map<string, number>();
  const seenRefs = new Set<string>();
  const unmanaged: string[] = [];
  for (const pod of pods) {
    const ref = controllerRefOf(pod);
    if (!ref) {
      unmanaged.push(pod.metadata.name!);
      continue;
    }
    if (seenRefs.has(ref.uid)) continue;
    const found = await find(ref, pod.metadata.namespace ?? "");
    if (!found) throw new Error(`found no controllers for pod "${pod.metadata.name}"`);
    seenRefs.add(ref.uid);
    scales.set(found.uid, found.scale);
  }
  let expected = 0;
  for (const n of scales.values()) expected += n;
  return { expected, unmanaged };
}

/** getExpectedPodCount. */
export async function budgetCounts(pdb: PodDisruptionBudget, pods: Pod[], find: ScaleFinder): Promise<BudgetCounts> {
  const { minAvailable, maxUnavailable } = pdb.spec ?? {};
  if (maxUnavailable !== undefined) {
    const { expected, unmanaged } = await expectedScale(pods, find);
    return { expectedPods: expected, desiredHealthy: Math.max(0, expected - scaledValue(maxUnavailable, expected)), unmanaged };
  }
  if (typeof minAvailable === "number") return { expectedPods: pods.length, desiredHealthy: minAvailable, unmanaged: [] };
  if (typeof minAvailable === "string") {
    const { expected, unmanaged } = await expectedScale(pods, find);
    return { expectedPods: expected, desiredHealthy: scaledValue(minAvailable, expected), unmanaged };
  }
  return { expectedPods: 0, desiredHealthy: 0, unmanaged: [] };
}

/**
 * buildDisruptedPodMap: the evictions still in flight (pod there, not yet being deleted, within
 * DELETION_TIMEOUT_MS), the ones overdue, and when the earliest in flight times out.
 */
export function disruptedPodsNow(pdb: PodDisruptionBudget, pods: Pod[], nowMs: number) {
  const recorded = pdb.status?.disruptedPods ?? {};
  const inFlight: Record<string, string> = {};
  const overdue: string[] = [];
  let recheckAtMs: number | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    const at = recorded[pod.metadata.name!];
    if (at === undefined) continue;
    const deadline = Date.parse(at) + DELETION_TIMEOUT_MS;
    if (deadline < nowMs) overdue.push(pod.metadata.name!);
    else {
      inFlight[pod.metadata.name!] = at;
      if (recheckAtMs === undefined || deadline < recheckAtMs) recheckAtMs = deadline;
    }
  }
  return { inFlight, overdue, recheckAtMs };
}

/** countHealthyPods. */
export function countHealthy(pods: Pod[], inFlight: Record<string, string>, nowMs: number): number {
  let healthy = 0;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    const at = inFlight[pod.metadata.name!];
    if (at !== undefined && Date.parse(at) + DELETION_TIMEOUT_MS > nowMs) continue;
    if (isPodReady(pod)) healthy++;
  }
  return healthy;
}

export const DISRUPTION_ALLOWED = "DisruptionAllowed";

/**
 * apimeta.SetStatusCondition for DisruptionAllowed: True/SufficientPods while disruptions are
 * allowed, False/InsufficientPods otherwise (or False/SyncFailed with a message when the status
 * could not be computed). lastTransitionTime moves only when the status does.
 */
export function withDisruptionAllowedCondition(status: PodDisruptionBudgetStatus, now: string, failure?: string): MetaCondition[] {
  const conditions = (status.conditions ?? []).map((c) => ({ ...c }));
  const wanted: MetaCondition = failure
    ? { type: DISRUPTION_ALLOWED, status: "False", reason: "SyncFailed", message: failure }
    : (status.disruptionsAllowed ?? 0) > 0
      ? { type: DISRUPTION_ALLOWED, status: "True", reason: "SufficientPods", message: "" }
      : { type: DISRUPTION_ALLOWED, status: "False", reason: "InsufficientPods", message: "" };
  wanted.observedGeneration = status.observedGeneration;
  const i = conditions.findIndex((c) => c.type === DISRUPTION_ALLOWED);
  if (i < 0) return [...conditions, { ...wanted, lastTransitionTime: now }];
  const old = conditions[i]!;
  conditions[i] = { ...old, ...wanted, lastTransitionTime: old.status === wanted.status && old.lastTransitionTime ? old.lastTransitionTime : now };
  return conditions;
}

/** The status the controller writes, or undefined when the stored one already says it. */
export function nextStatus(
  pdb: PodDisruptionBudget,
  counts: { currentHealthy: number; desiredHealthy: number; expectedPods: number; disruptedPods: Record<string, string> },
  now: string,
): PodDisruptionBudgetStatus | undefined {
  let allowed = counts.currentHealthy - counts.desiredHealthy;
  // A budget that expects no pods allows nothing: its first pods may appear before its status does.
  if (counts.expectedPods <= 0 || allowed <= 0) allowed = 0;
  const generation = pdb.metadata.generation ?? 1;
  const old = pdb.status ?? {};
  const condition = old.conditions?.find((c) => c.type === DISRUPTION_ALLOWED);
  const conditionCurrent =
    !!condition && condition.observedGeneration === old.observedGeneration && condition.status === (allowed > 0 ? "True" : "False") && condition.reason !== "SyncFailed";
  if (
    old.currentHealthy === counts.currentHealthy &&
    old.desiredHealthy === counts.desiredHealthy &&
    old.expectedPods === counts.expectedPods &&
    old.disruptionsAllowed === allowed &&
    jsonEqual(old.disruptedPods ?? {}, counts.disruptedPods) &&
    old.observedGeneration === generation &&
    conditionCurrent
  )
    return undefined;
  const status: PodDisruptionBudgetStatus = {
    observedGeneration: generation,
    ...(Object.keys(counts.disruptedPods).length && { disruptedPods: counts.disruptedPods }),
    disruptionsAllowed: allowed,
    currentHealthy: counts.currentHealthy,
    desiredHealthy: counts.desiredHealthy,
    expectedPods: counts.expectedPods,
    conditions: old.conditions,
  };
  status.conditions = withDisruptionAllowedCondition(status, now);
  return status;
}
