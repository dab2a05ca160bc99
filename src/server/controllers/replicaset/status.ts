// ReplicaSet status as upstream computes it: counts over the pods the ReplicaSet controls, and
// a ReplicaFailure condition while creating or deleting pods fails.
import type { Pod } from "../../../api/resources/core/pod";
import type { ReplicaSet } from "../../../api/resources/apps/replicaset";
import { jsonEqual } from "../../../api/resources/common";
import { podReadySince } from "../podutil";

export type ReplicaSetStatus = NonNullable<ReplicaSet["status"]>;
type Condition = NonNullable<ReplicaSetStatus["conditions"]>[number];

export const timestamp = (d = new Date()) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

export interface ManageError {
  /** FailedCreate or FailedDelete. */
  reason: string;
  message: string;
}

export function calculateStatus(rs: ReplicaSet, pods: Pod[], manageError: ManageError | undefined, nowMs: number): ReplicaSetStatus {
  const templateLabels = Object.entries(rs.spec?.template?.metadata?.labels ?? {});
  const minReady = rs.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  const availableBy = nowMs - minReady * 1000;
  for (const pod of pods) {
    const labels = pod.metadata.labels ?? {};
    let labeled = true;
    for (const [k, v] of templateLabels) if (labels[k] !== v) labeled = false;
    if (labeled) fullyLabeled++;
    // Ready since (parsed once per pod version): undefined when not ready; as isPodAvailable.
    const since = podReadySince(pod);
    if (since !== undefined) {
      ready++;
      if (minReady <= 0 || since <= availableBy) available++;
    }
  }
  const conditions = [...(rs.status?.conditions ?? [])];
  const failureAt = conditions.findIndex((c) => c.type === "ReplicaFailure");
  if (manageError && failureAt < 0) {
    conditions.push({ type: "ReplicaFailure", status: "True", reason: manageError.reason, message: manageError.message, lastTransitionTime: timestamp() } as Condition);
  } else if (!manageError && failureAt >= 0) {
    conditions.splice(failureAt, 1);
  }
  const status: ReplicaSetStatus = {
    replicas: pods.length,
    fullyLabeledReplicas: fullyLabeled,
    readyReplicas: ready,
    availableReplicas: available,
    observedGeneration: rs.metadata.generation,
  };
  if (conditions.length) status.conditions = conditions;
  return status;
}

/** Whether the stored status already says this (so no write is needed). */
export function statusEqual(a: ReplicaSetStatus | undefined, b: ReplicaSetStatus): boolean {
  const norm = (s: ReplicaSetStatus | undefined) => ({
    replicas: s?.replicas ?? 0,
    fullyLabeledReplicas: s?.fullyLabeledReplicas ?? 0,
    readyReplicas: s?.readyReplicas ?? 0,
    availableReplicas: s?.availableReplicas ?? 0,
    observedGeneration: s?.observedGeneration ?? 0,
    conditions: s?.conditions ?? [],
  });
  return jsonEqual(norm(a), norm(b));
}
