// RollingUpdate: grow the new ReplicaSet within maxSurge, shrink old ones within
// maxUnavailable, one step per sync; each step's writes cause the events that bring the next.
// Decisions use spec.replicas and status.availableReplicas, so a restart resumes where the
// cluster is, not where a previous process thought it was.
import type { ReplicaSet } from "../../../api/resources/apps/replicaset";
import type { SyncContext } from "./context";
import { cleanupDeployment } from "./history";
import { availableReplicaCount, byCreation, desiredReplicas, filterActive, maxUnavailable, newRSNewReplicas, replicaCount, specReplicas } from "./rsutil";
import { deploymentComplete, syncRolloutStatus } from "./status";
import { getAllReplicaSetsAndSyncRevision, scaleReplicaSet } from "./sync";

export async function rolloutRolling(ctx: SyncContext) {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(ctx, true);
  if (!newRS) return; // creation deferred (collision, terminating namespace); requeued
  const all = [...oldRSs, newRS];
  if (await reconcileNewReplicaSet(ctx, all, newRS)) return syncRolloutStatus(ctx, all, newRS);
  if (await reconcileOldReplicaSets(ctx, all, filterActive(oldRSs), newRS)) return syncRolloutStatus(ctx, all, newRS);
  if (deploymentComplete(ctx.d, ctx.d.status ?? {})) await cleanupDeployment(ctx, oldRSs);
  await syncRolloutStatus(ctx, all, newRS);
}

async function reconcileNewReplicaSet(ctx: SyncContext, all: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
  const want = desiredReplicas(ctx.d);
  if (specReplicas(newRS) === want) return false;
  if (specReplicas(newRS) > want) return scaleReplicaSet(ctx, newRS, want, "down");
  return scaleReplicaSet(ctx, newRS, newRSNewReplicas(ctx.d, all, newRS), "up");
}

async function reconcileOldReplicaSets(ctx: SyncContext, all: ReplicaSet[], oldRSs: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
  if (replicaCount(oldRSs) === 0) return false;
  const minAvailable = desiredReplicas(ctx.d) - maxUnavailable(ctx.d);
  const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  // Pods we may remove without dropping below minAvailable, counting the new ReplicaSet's
  // unavailable pods as already missing (they may never come up).
  const maxScaledDown = replicaCount(all) - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;
  const cleaned = await cleanupUnhealthyReplicas(ctx, oldRSs, maxScaledDown);
  const scaledDown = await scaleDownOldForRollingUpdate(ctx, [...oldRSs, newRS], oldRSs);
  return cleaned + scaledDown > 0;
}

/** Unavailable old pods cost nothing to remove: take them first, oldest ReplicaSet first. */
async function cleanupUnhealthyReplicas(ctx: SyncContext, oldRSs: ReplicaSet[], maxCleanup: number): Promise<number> {
  let total = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (total >= maxCleanup) break;
    const unhealthy = specReplicas(rs) - (rs.status?.availableReplicas ?? 0);
    if (specReplicas(rs) === 0 || unhealthy <= 0) continue;
    const n = Math.min(maxCleanup - total, unhealthy);
    await scaleReplicaSet(ctx, rs, specReplicas(rs) - n, "down");
    total += n;
  }
  return total;
}

/** Then available old pods, as far as the available count stays at or above minAvailable. */
async function scaleDownOldForRollingUpdate(ctx: SyncContext, all: ReplicaSet[], oldRSs: ReplicaSet[]): Promise<number> {
  const minAvailable = desiredReplicas(ctx.d) - maxUnavailable(ctx.d);
  const available = availableReplicaCount(all);
  if (available <= minAvailable) return 0;
  const budget = available - minAvailable;
  let total = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (total >= budget) break;
    if (specReplicas(rs) === 0) continue;
    const n = Math.min(specReplicas(rs), budget - total);
    await scaleReplicaSet(ctx, rs, specReplicas(rs) - n, "down");
    total += n;
  }
  return total;
}
