// Arithmetic over a Deployment's ReplicaSets, as upstream's deployment/util: surge and
// unavailability budgets, replica sums, which ReplicaSet is new, and the orderings the
// rollout steps rely on.
import type { Deployment } from "../../../api/resources/apps/deployment";
import type { ReplicaSet } from "../../../api/resources/apps/replicaset";
import { templatesEqualIgnoringHash } from "./hash";

export const REVISION = "deployment.kubernetes.io/revision";
export const REVISION_HISTORY = "deployment.kubernetes.io/revision-history";
export const DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS = "deployment.kubernetes.io/max-replicas";

export const specReplicas = (rs: ReplicaSet | undefined) => rs?.spec?.replicas ?? 0;
export const desiredReplicas = (d: Deployment) => d.spec?.replicas ?? 1;
export const isRollingUpdate = (d: Deployment) => (d.spec?.strategy?.type ?? "RollingUpdate") === "RollingUpdate";

/** An int-or-percent against a total: percentages round up for surge, down for unavailability. */
export function scaledValue(v: number | string | undefined, total: number, roundUp: boolean): number {
  if (v === undefined) return 0;
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return /^\d+$/.test(v) ? Number(v) : 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** Upstream's ResolveFenceposts: both zero would deadlock a rollout, so unavailable becomes 1. */
export function resolveFenceposts(d: Deployment): { surge: number; unavailable: number } {
  const ru = d.spec?.strategy?.rollingUpdate;
  const n = desiredReplicas(d);
  const surge = scaledValue(ru?.maxSurge ?? "25%", n, true);
  let unavailable = scaledValue(ru?.maxUnavailable ?? "25%", n, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export const maxSurge = (d: Deployment) => (isRollingUpdate(d) ? resolveFenceposts(d).surge : 0);

export function maxUnavailable(d: Deployment): number {
  const n = desiredReplicas(d);
  if (!isRollingUpdate(d) || n === 0) return 0;
  return Math.min(resolveFenceposts(d).unavailable, n);
}

const sum = (rss: (ReplicaSet | undefined)[], f: (rs: ReplicaSet) => number) => rss.reduce((a, rs) => a + (rs ? f(rs) : 0), 0);
/** Sum of spec.replicas. */
export const replicaCount = (rss: (ReplicaSet | undefined)[]) => sum(rss, specReplicas);
/** Sum of status.replicas (pods that exist). */
export const actualReplicaCount = (rss: (ReplicaSet | undefined)[]) => sum(rss, (rs) => rs.status?.replicas ?? 0);
export const readyReplicaCount = (rss: (ReplicaSet | undefined)[]) => sum(rss, (rs) => rs.status?.readyReplicas ?? 0);
export const availableReplicaCount = (rss: (ReplicaSet | undefined)[]) => sum(rss, (rs) => rs.status?.availableReplicas ?? 0);

export const filterActive = (rss: (ReplicaSet | undefined)[]): ReplicaSet[] => rss.filter((rs): rs is ReplicaSet => !!rs && specReplicas(rs) > 0);

const created = (rs: ReplicaSet) => Date.parse(rs.metadata.creationTimestamp ?? "") || 0;
/** Oldest first; ties by name (upstream's ReplicaSetsByCreationTimestamp). */
export const byCreation = (a: ReplicaSet, b: ReplicaSet) => created(a) - created(b) || (a.metadata.name! < b.metadata.name! ? -1 : 1);
/** Largest first; ties newer first (upstream's ReplicaSetsBySizeNewer), for scaling up. */
export const bySizeNewer = (a: ReplicaSet, b: ReplicaSet) => specReplicas(b) - specReplicas(a) || byCreation(b, a);
/** Largest first; ties older first (upstream's ReplicaSetsBySizeOlder), for scaling down. */
export const bySizeOlder = (a: ReplicaSet, b: ReplicaSet) => specReplicas(b) - specReplicas(a) || byCreation(a, b);

export function revisionOf(obj: { metadata: { annotations?: Record<string, string> } }): number {
  const v = obj.metadata.annotations?.[REVISION];
  const n = v === undefined ? 0 : Number(v);
  return Number.isInteger(n) ? n : 0;
}

/** Oldest revision first; ties by creation (upstream's ReplicaSetsByRevision). */
export const byRevision = (a: ReplicaSet, b: ReplicaSet) => revisionOf(a) - revisionOf(b) || byCreation(a, b);

export const maxRevision = (rss: ReplicaSet[]) => Math.max(0, ...rss.map(revisionOf));

/** The oldest ReplicaSet whose template is the Deployment's (several can exist after a collision). */
export function findNewReplicaSet(d: Deployment, rss: ReplicaSet[]): ReplicaSet | undefined {
  return [...rss].sort(byCreation).find((rs) => templatesEqualIgnoringHash(rs.spec?.template, d.spec?.template));
}

function annotationInt(rs: ReplicaSet, key: string): number | undefined {
  const v = rs.metadata.annotations?.[key];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}
export const desiredReplicasAnnotation = (rs: ReplicaSet) => annotationInt(rs, DESIRED_REPLICAS);
export const maxReplicasAnnotation = (rs: ReplicaSet) => annotationInt(rs, MAX_REPLICAS);

/** Sets desired-replicas and max-replicas on `rs` (in place); true if that changed anything. */
export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  const a = (rs.metadata.annotations ??= {});
  if (a[DESIRED_REPLICAS] === String(desired) && a[MAX_REPLICAS] === String(max)) return false;
  a[DESIRED_REPLICAS] = String(desired);
  a[MAX_REPLICAS] = String(max);
  return true;
}

/** The new ReplicaSet has all the pods the Deployment wants, and all of them are available. */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  const n = desiredReplicas(d);
  return specReplicas(rs) === n && desiredReplicasAnnotation(rs) === n && (rs.status?.availableReplicas ?? 0) === n;
}

/** How many replicas the new ReplicaSet should have now (upstream's NewRSNewReplicas). */
export function newRSNewReplicas(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet): number {
  if (!isRollingUpdate(d)) return desiredReplicas(d);
  const maxTotal = desiredReplicas(d) + maxSurge(d);
  const current = replicaCount(all);
  if (current >= maxTotal) return specReplicas(newRS);
  const up = Math.min(maxTotal - current, desiredReplicas(d) - specReplicas(newRS));
  return specReplicas(newRS) + up;
}
