// Pod facts the workload controllers agree on: which pods count (active), which are ready and
// available (ready for minReadySeconds), and which are the least useful to delete first. Kept
// in one place so the ReplicaSet, Deployment and DaemonSet controllers never disagree.
import type { KubeObject, OwnerReference } from "../../api/meta";
import type { Pod } from "../../api/resources/core/pod";

type Condition = NonNullable<NonNullable<Pod["status"]>["conditions"]>[number];

/** Pods that are not finished and not being deleted: the ones a controller counts as replicas. */
export const isPodActive = (pod: Pod): boolean =>
  pod.status?.phase !== "Succeeded" && pod.status?.phase !== "Failed" && !pod.metadata.deletionTimestamp;

export const podCondition = (pod: Pod, type: string): Condition | undefined => pod.status?.conditions?.find((c) => c.type === type);

export const isPodReady = (pod: Pod): boolean => podCondition(pod, "Ready")?.status === "True";

/**
 * Parsed Ready times per pod object. Informer caches hold one object per pod version and never
 * change it, so this is a cache per resourceVersion: a ReplicaSet's status over 10,000 pods no
 * longer parses 10,000 timestamps on every sync. Entries go when the version does.
 */
const readySinceCache = new WeakMap<Pod, number | undefined>();

/** When the pod last became ready, in ms since the epoch; undefined if not ready. */
export function podReadySince(pod: Pod): number | undefined {
  if (readySinceCache.has(pod)) return readySinceCache.get(pod);
  const c = podCondition(pod, "Ready");
  let since: number | undefined;
  if (c?.status === "True") {
    const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
    since = Number.isNaN(t) ? 0 : t;
  }
  readySinceCache.set(pod, since);
  return since;
}

/** Ready for at least minReadySeconds (upstream's IsPodAvailable). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  const since = podReadySince(pod);
  if (since === undefined) return false;
  return minReadySeconds <= 0 || since + minReadySeconds * 1000 <= nowMs;
}

/** Milliseconds until a ready pod becomes available, if it is not yet; for requeueing. */
export function msUntilAvailable(pod: Pod, minReadySeconds: number, nowMs: number): number | undefined {
  const since = podReadySince(pod);
  if (since === undefined || minReadySeconds <= 0) return undefined;
  const left = since + minReadySeconds * 1000 - nowMs;
  return left > 0 ? left : undefined;
}

export const controllerRefOf = (obj: KubeObject): OwnerReference | undefined => obj.metadata.ownerReferences?.find((r) => r.controller);

export const maxContainerRestarts = (pod: Pod): number =>
  Math.max(0, ...(pod.status?.containerStatuses ?? []).map((s) => s.restartCount ?? 0));

const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
const phaseOrdinal = (pod: Pod) => PHASE_ORDER[pod.status?.phase ?? "Pending"] ?? 0;

/**
 * Compares two times on a log2 scale of their age, as upstream's LogarithmicScaleDown does, so
 * pods of roughly the same age are treated alike; within one bucket the newer one still sorts
 * first (upstream randomizes by UID there; we prefer a deterministic order).
 */
function newerFirst(a: number | undefined, b: number | undefined, nowMs: number): number {
  if (a === b) return 0;
  if (!a) return -1; // no time at all counts as newest
  if (!b) return 1;
  const bucket = (t: number) => (nowMs - t > 0 ? Math.floor(Math.log2((nowMs - t) * 1e6)) : -1);
  const diff = bucket(a) - bucket(b);
  if (diff !== 0) return diff;
  return b - a;
}

/**
 * Orders pods least useful first, like upstream's ActivePodsWithRanks: unscheduled before
 * scheduled, Pending < Unknown < Running, not ready before ready, pods doubled up on a node
 * (higher rank) first, ready more recently first, more restarts first, newer first.
 */
export function compareForDeletion(a: Pod, b: Pod, rank: (p: Pod) => number, nowMs: number): number {
  const assignedA = a.spec?.nodeName ? 1 : 0;
  const assignedB = b.spec?.nodeName ? 1 : 0;
  if (assignedA !== assignedB) return assignedA - assignedB;
  const phase = phaseOrdinal(a) - phaseOrdinal(b);
  if (phase !== 0) return phase;
  const readyA = isPodReady(a) ? 1 : 0;
  const readyB = isPodReady(b) ? 1 : 0;
  if (readyA !== readyB) return readyA - readyB;
  const ranks = rank(b) - rank(a);
  if (ranks !== 0) return ranks;
  if (readyA && readyB) {
    const r = newerFirst(podReadySince(a), podReadySince(b), nowMs);
    if (r !== 0) return r;
  }
  const restarts = maxContainerRestarts(b) - maxContainerRestarts(a);
  if (restarts !== 0) return restarts;
  const created = (p: Pod) => (p.metadata.creationTimestamp ? Date.parse(p.metadata.creationTimestamp) : undefined);
  return newerFirst(created(a), created(b), nowMs);
}
