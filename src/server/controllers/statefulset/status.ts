// Pod states the StatefulSet controller acts on, and the status it reports (upstream's
// computeReplicaStatus, completeRollingUpdate and inconsistentStatus).
import type { Pod } from "../../../api/resources/core/pod";
import type { StatefulSet, StatefulSetStatus } from "../../../api/resources/apps/statefulset";
import { isPodAvailable, isPodReady } from "../podutil";
import { podRevision } from "./identity";

/** A pod object the controller built but has not created yet carries no uid. */
export const isCreated = (pod: Pod) => !!pod.metadata.uid;
export const isTerminating = (pod: Pod) => !!pod.metadata.deletionTimestamp;
export const isFinished = (pod: Pod) => pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded";
export const isPending = (pod: Pod) => pod.status?.phase === "Pending";
export const isRunningAndReady = (pod: Pod) => pod.status?.phase === "Running" && isPodReady(pod);
export const isRunningAndAvailable = (pod: Pod, minReadySeconds: number, nowMs: number) =>
  pod.status?.phase === "Running" && isPodAvailable(pod, minReadySeconds, nowMs);
/** Running, Ready and not on its way out. */
export const isHealthy = (pod: Pod) => isRunningAndReady(pod) && !isTerminating(pod);

/** The replica counts over the pods in range and the condemned ones; uncreated pods count for nothing. */
export function countReplicas(status: StatefulSetStatus, lists: Pod[][], minReadySeconds: number, nowMs: number) {
  status.replicas = 0;
  status.readyReplicas = 0;
  status.availableReplicas = 0;
  status.currentReplicas = 0;
  status.updatedReplicas = 0;
  for (const pods of lists)
    for (const pod of pods) {
      if (!isCreated(pod)) continue;
      status.replicas++;
      if (isRunningAndReady(pod)) {
        status.readyReplicas++;
        if (isRunningAndAvailable(pod, minReadySeconds, nowMs)) status.availableReplicas++;
      }
      if (!isTerminating(pod)) {
        const rev = podRevision(pod);
        if (rev === status.currentRevision) status.currentReplicas++;
        if (rev === status.updateRevision) status.updatedReplicas++;
      }
    }
}

/** A rolling update whose pods are all updated and ready is done: the update revision becomes current. */
export function completeRollingUpdate(set: StatefulSet, status: StatefulSetStatus) {
  if (set.spec?.updateStrategy?.type === "RollingUpdate" && status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
  }
}

const FIELDS = ["observedGeneration", "replicas", "readyReplicas", "availableReplicas", "currentReplicas", "updatedReplicas", "currentRevision", "updateRevision", "collisionCount"] as const;

/** Whether the stored status differs from the computed one in anything the controller writes. */
export const statusDiffers = (stored: StatefulSetStatus | undefined, next: StatefulSetStatus) =>
  FIELDS.some((k) => (stored?.[k] ?? undefined) !== (next[k] ?? undefined));
