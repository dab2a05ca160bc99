// Recreate: scale every old ReplicaSet to zero, wait until none of their pods is left running,
// then bring the new ReplicaSet up to full size. Old and new pods never run side by side.
import type { ReplicaSet } from "../../../api/resources/apps/replicaset";
import type { SyncContext } from "./context";
import { cleanupDeployment } from "./history";
import { actualReplicaCount, desiredReplicas, filterActive } from "./rsutil";
import { deploymentComplete, syncRolloutStatus } from "./status";
import { getAllReplicaSetsAndSyncRevision, scaleReplicaSet } from "./sync";

export async function rolloutRecreate(ctx: SyncContext) {
  let { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(ctx, false);
  let all: (ReplicaSet | undefined)[] = [...oldRSs, newRS];
  let scaledDown = false;
  for (const rs of filterActive(oldRSs)) if (await scaleReplicaSet(ctx, rs, 0, "down")) scaledDown = true;
  if (scaledDown) return syncRolloutStatus(ctx, all, newRS);
  if (oldPodsRunning(ctx, newRS, oldRSs)) return syncRolloutStatus(ctx, all, newRS);
  if (!newRS) {
    ({ newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(ctx, true));
    all = [...oldRSs, newRS];
  }
  if (newRS) await scaleReplicaSet(ctx, newRS, desiredReplicas(ctx.d), "up");
  if (deploymentComplete(ctx.d, ctx.d.status ?? {})) await cleanupDeployment(ctx, oldRSs);
  await syncRolloutStatus(ctx, all, newRS);
}

/** Any pod of an old ReplicaSet that has not finished (including ones still terminating). */
function oldPodsRunning(ctx: SyncContext, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): boolean {
  if (actualReplicaCount(oldRSs) > 0) return true;
  for (const [uid, pods] of ctx.podsByReplicaSet()) {
    if (newRS && uid === newRS.metadata.uid) continue;
    if (pods.some((p) => p.status?.phase !== "Failed" && p.status?.phase !== "Succeeded")) return true;
  }
  return false;
}
