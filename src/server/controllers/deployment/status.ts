// Deployment status and its conditions, computed as upstream does so `kubectl rollout status`
// reads them the same way: counts summed over the ReplicaSets, Available against the
// unavailability budget, and Progressing with its reasons and the progress deadline.
import type { Deployment } from "../../../api/resources/apps/deployment";
import type { ReplicaSet } from "../../../api/resources/apps/replicaset";
import { jsonEqual } from "../../../api/resources/common";
import { timestamp, writeStatus, requeueAfter, type DeploymentCondition, type DeploymentStatus, type SyncContext } from "./context";
import { actualReplicaCount, availableReplicaCount, desiredReplicas, maxUnavailable, readyReplicaCount, replicaCount } from "./rsutil";

// Condition reasons (upstream's deployment/util constants).
export const NEW_RS_CREATED = "NewReplicaSetCreated";
export const FOUND_NEW_RS = "FoundNewReplicaSet";
export const RS_UPDATED = "ReplicaSetUpdated";
export const NEW_RS_AVAILABLE = "NewReplicaSetAvailable";
export const TIMED_OUT = "ProgressDeadlineExceeded";
export const PAUSED = "DeploymentPaused";
export const RESUMED = "DeploymentResumed";
export const FAILED_RS_CREATE = "ReplicaSetCreateError";

export function newCondition(type: string, status: string, reason: string, message: string): DeploymentCondition {
  const now = timestamp();
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
}

export const getCondition = (s: DeploymentStatus | undefined, type: string) => s?.conditions?.find((c) => c.type === type);

/** Upstream's SetDeploymentCondition: same status and reason is a no-op; same status keeps the transition time. */
export function setCondition(s: DeploymentStatus, c: DeploymentCondition) {
  const current = getCondition(s, c.type);
  if (current && current.status === c.status && current.reason === c.reason) return;
  if (current && current.status === c.status) c.lastTransitionTime = current.lastTransitionTime;
  s.conditions = [...(s.conditions ?? []).filter((x) => x.type !== c.type), c];
}

export function removeCondition(s: DeploymentStatus, type: string) {
  if (!s.conditions) return;
  s.conditions = s.conditions.filter((c) => c.type !== type);
  if (!s.conditions.length) delete s.conditions;
}

const MAX_INT32 = 2147483647;
export const hasProgressDeadline = (d: Deployment) => d.spec?.progressDeadlineSeconds !== undefined && d.spec.progressDeadlineSeconds !== MAX_INT32;

export function calculateStatus(all: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment): DeploymentStatus {
  const available = availableReplicaCount(all);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation,
    replicas: actualReplicaCount(all),
    updatedReplicas: actualReplicaCount([newRS]),
    readyReplicas: readyReplicaCount(all),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, replicaCount(all) - available),
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  if (d.status?.conditions?.length) status.conditions = d.status.conditions.map((c) => ({ ...c }));
  if (available >= desiredReplicas(d) - maxUnavailable(d)) setCondition(status, newCondition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."));
  else setCondition(status, newCondition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."));
  return status;
}

/** Every replica is updated and available, and the status describes the current spec. */
export function deploymentComplete(d: Deployment, s: DeploymentStatus): boolean {
  const n = desiredReplicas(d);
  return s.updatedReplicas === n && s.replicas === n && s.availableReplicas === n && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** Something moved since the last status: more updated, fewer old, more ready or available. */
function deploymentProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

function progressDeadlineAt(d: Deployment, c: DeploymentCondition): number {
  return Date.parse(c.lastUpdateTime ?? c.lastTransitionTime ?? "") + (d.spec?.progressDeadlineSeconds ?? 0) * 1000;
}

function deploymentTimedOut(d: Deployment, s: DeploymentStatus, nowMs: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(s, "Progressing");
  if (!c || c.reason === NEW_RS_AVAILABLE) return false;
  if (c.reason === TIMED_OUT) return true;
  return progressDeadlineAt(d, c) < nowMs;
}

const zeroed = (s: DeploymentStatus | undefined) => ({
  observedGeneration: s?.observedGeneration ?? 0,
  replicas: s?.replicas ?? 0,
  updatedReplicas: s?.updatedReplicas ?? 0,
  readyReplicas: s?.readyReplicas ?? 0,
  availableReplicas: s?.availableReplicas ?? 0,
  unavailableReplicas: s?.unavailableReplicas ?? 0,
  collisionCount: s?.collisionCount,
  conditions: s?.conditions ?? [],
});
const statusEqual = (a: DeploymentStatus | undefined, b: DeploymentStatus) => jsonEqual(zeroed(a), zeroed(b));

/** Status only (scaling, paused): no Progressing bookkeeping. */
export async function syncDeploymentStatus(ctx: SyncContext, all: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined) {
  const status = calculateStatus(all, newRS, ctx.d);
  if (!statusEqual(ctx.d.status, status)) await writeStatus(ctx, status);
}

/** Status plus the Progressing condition, and a requeue for the progress deadline. */
export async function syncRolloutStatus(ctx: SyncContext, all: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined) {
  const d = ctx.d;
  const status = calculateStatus(all, newRS, d);
  if (!hasProgressDeadline(d)) removeCondition(status, "Progressing");
  const current = getCondition(d.status, "Progressing");
  const complete = status.replicas === status.updatedReplicas && current?.reason === NEW_RS_AVAILABLE;
  const now = Date.now();
  if (hasProgressDeadline(d) && !complete) {
    const subject = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${d.metadata.name}"`;
    if (deploymentComplete(d, status)) {
      setCondition(status, newCondition("Progressing", "True", NEW_RS_AVAILABLE, `${subject} has successfully progressed.`));
    } else if (deploymentProgressing(d, status)) {
      // Progress refreshes lastUpdateTime even with an unchanged reason: that restarts the deadline.
      const c = newCondition("Progressing", "True", RS_UPDATED, `${subject} is progressing.`);
      if (current?.status === "True") c.lastTransitionTime = current.lastTransitionTime;
      removeCondition(status, "Progressing");
      setCondition(status, c);
    } else if (deploymentTimedOut(d, status, now)) {
      setCondition(status, newCondition("Progressing", "False", TIMED_OUT, `${subject} has timed out progressing.`));
    }
  }
  const failure = replicaFailure(all, newRS);
  if (failure) setCondition(status, failure);
  else removeCondition(status, "ReplicaFailure");

  if (!statusEqual(d.status, status)) await writeStatus(ctx, status);
  else requeueIfStuck(ctx, status, now);
}

/** With no event to wake us, a rollout that stops moving must still be checked at its deadline. */
function requeueIfStuck(ctx: SyncContext, status: DeploymentStatus, nowMs: number) {
  const d = ctx.d;
  const c = getCondition(status, "Progressing");
  if (!hasProgressDeadline(d) || !c || c.reason === NEW_RS_AVAILABLE || c.reason === TIMED_OUT) return;
  if (deploymentComplete(d, status)) return;
  requeueAfter(ctx, Math.max(0, progressDeadlineAt(d, c) - nowMs) + 1000);
}

/** The new ReplicaSet's ReplicaFailure condition, else any old one's, as a Deployment condition. */
function replicaFailure(all: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): DeploymentCondition | undefined {
  for (const rs of [newRS, ...all]) {
    const c = rs?.status?.conditions?.find((x) => x.type === "ReplicaFailure");
    if (c) return { type: "ReplicaFailure", status: c.status, reason: c.reason, message: c.message, lastUpdateTime: c.lastTransitionTime, lastTransitionTime: c.lastTransitionTime };
  }
  return undefined;
}

/** Progressing says when a Deployment is paused or resumed (unless it already timed out). */
export async function checkPausedConditions(ctx: SyncContext) {
  const d = ctx.d;
  if (!hasProgressDeadline(d)) return;
  const c = getCondition(d.status, "Progressing");
  if (c?.reason === TIMED_OUT) return;
  const pausedShown = c?.reason === PAUSED;
  let condition: DeploymentCondition | undefined;
  if (d.spec?.paused && !pausedShown) condition = newCondition("Progressing", "Unknown", PAUSED, "Deployment is paused");
  else if (!d.spec?.paused && pausedShown) condition = newCondition("Progressing", "Unknown", RESUMED, "Deployment is resumed");
  if (!condition) return;
  const status = structuredClone(d.status ?? {});
  setCondition(status, condition);
  await writeStatus(ctx, status);
}
