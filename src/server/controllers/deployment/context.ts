// What one sync of one Deployment works with: clients, the event recorder, and working copies
// of the Deployment and its ReplicaSets. The copies are updated in place after each write, so
// later steps of the same sync see what earlier steps did (as upstream's pointers do).
import { ApiError } from "../../../api/errors";
import type { Deployment } from "../../../api/resources/apps/deployment";
import type { Pod } from "../../../api/resources/core/pod";
import type { ReplicaSet } from "../../../api/resources/apps/replicaset";
import type { ResourceClient } from "../../../client/client";
import type { EventRecorder } from "../../../client/events";

export type DeploymentStatus = NonNullable<Deployment["status"]>;
export type DeploymentCondition = NonNullable<DeploymentStatus["conditions"]>[number];

export interface SyncContext {
  deployments: ResourceClient<Deployment>;
  replicaSets: ResourceClient<ReplicaSet>;
  recorder: EventRecorder;
  /** Working copy, with apiVersion and kind set (for events and owner references). */
  d: Deployment;
  /** Working copies of the ReplicaSets this Deployment controls. */
  rsList: ReplicaSet[];
  /**
   * Pods of this Deployment by the uid of the ReplicaSet controlling them (Recreate waits on
   * these). Built on first call, as only Recreate needs it.
   */
  podsByReplicaSet: () => Map<string, Pod[]>;
  /** Set when a step wants the Deployment looked at again after a delay (progress deadline). */
  requeueAfterMs?: number;
}

export const timestamp = (d = new Date()) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

export const isNotFound = (e: unknown) => e instanceof ApiError && e.code === 404;

export function requeueAfter(ctx: SyncContext, ms: number) {
  ctx.requeueAfterMs = ctx.requeueAfterMs === undefined ? ms : Math.min(ctx.requeueAfterMs, ms);
}

/** Writes the Deployment's status through /status and keeps the working copy in step. */
export async function writeStatus(ctx: SyncContext, status: DeploymentStatus) {
  const body = { status: { ...status, conditions: status.conditions ?? null } };
  const updated = await ctx.deployments.patch(ctx.d.metadata.namespace, ctx.d.metadata.name!, body, "merge", "status");
  ctx.d.status = updated.status;
  ctx.d.metadata.resourceVersion = updated.metadata.resourceVersion;
}

/** Writes one annotation on the Deployment itself (the revision), outside status. */
export async function writeAnnotation(ctx: SyncContext, key: string, value: string) {
  const updated = await ctx.deployments.patch(ctx.d.metadata.namespace, ctx.d.metadata.name!, { metadata: { annotations: { [key]: value } } });
  ctx.d.metadata.annotations = updated.metadata.annotations;
  ctx.d.metadata.resourceVersion = updated.metadata.resourceVersion;
}
