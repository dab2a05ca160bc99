// Revisions and history: which annotations a ReplicaSet carries (the revision, copied
// Deployment annotations like kubernetes.io/change-cause, which `kubectl rollout history`
// shows), and removing old, empty ReplicaSets beyond revisionHistoryLimit. `kubectl rollout
// undo` reads exactly these: it finds the ReplicaSet with the wanted revision and copies its
// template and annotations back onto the Deployment.
import type { ReplicaSet } from "../../../api/resources/apps/replicaset";
import type { Deployment } from "../../../api/resources/apps/deployment";
import { isNotFound, type SyncContext } from "./context";
import { byRevision, DESIRED_REPLICAS, desiredReplicas, MAX_REPLICAS, maxSurge, REVISION, REVISION_HISTORY, setReplicasAnnotations, specReplicas } from "./rsutil";

const MAX_REVISION_HISTORY_CHARS = 2000;

/** Deployment annotations that describe the Deployment itself and are never copied to a ReplicaSet. */
const NOT_COPIED = new Set([
  "kubectl.kubernetes.io/last-applied-configuration",
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  "deprecated.deployment.rollback.to",
]);

function copyDeploymentAnnotations(d: Deployment, rs: ReplicaSet): boolean {
  let changed = false;
  const a = (rs.metadata.annotations ??= {});
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (NOT_COPIED.has(k) || a[k] === v) continue;
    a[k] = v;
    changed = true;
  }
  return changed;
}

/**
 * Upstream's SetNewReplicaSetAnnotations (in place): copy the Deployment's annotations, raise
 * the revision to `newRevision` (never lower it), remember the revisions it had before (a
 * rollback gives an old ReplicaSet a new revision), and on creation set the replica annotations.
 */
export function setNewReplicaSetAnnotations(d: Deployment, rs: ReplicaSet, newRevision: number, exists: boolean): boolean {
  let changed = copyDeploymentAnnotations(d, rs);
  const a = (rs.metadata.annotations ??= {});
  const oldRevision = a[REVISION];
  let oldInt = 0;
  if (oldRevision !== undefined) {
    if (!/^\d+$/.test(oldRevision)) return changed; // not ours to interpret; upstream leaves it too
    oldInt = Number(oldRevision);
  }
  if (oldInt < newRevision) {
    a[REVISION] = String(newRevision);
    changed = true;
    if (oldRevision !== undefined) {
      const history = a[REVISION_HISTORY] ? a[REVISION_HISTORY].split(",") : [];
      history.push(oldRevision);
      while (history.join(",").length > MAX_REVISION_HISTORY_CHARS) history.shift();
      a[REVISION_HISTORY] = history.join(",");
    }
  }
  if (!exists && setReplicasAnnotations(rs, desiredReplicas(d), desiredReplicas(d) + maxSurge(d))) changed = true;
  return changed;
}

/** Deletes the oldest old ReplicaSets beyond revisionHistoryLimit, if they are fully scaled down. */
export async function cleanupDeployment(ctx: SyncContext, oldRSs: ReplicaSet[]) {
  const limit = ctx.d.spec?.revisionHistoryLimit;
  if (limit === undefined) return;
  const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp).sort(byRevision);
  const excess = cleanable.length - limit;
  for (let i = 0; i < excess; i++) {
    const rs = cleanable[i];
    // Still has pods, or its controller has not seen its latest spec yet: keep it for now.
    if ((rs.status?.replicas ?? 0) !== 0 || specReplicas(rs) !== 0) continue;
    if ((rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
    try {
      await ctx.replicaSets.delete(rs.metadata.namespace, rs.metadata.name!, { preconditions: { uid: rs.metadata.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
