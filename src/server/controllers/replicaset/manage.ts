// Creating and deleting pods to reach spec.replicas. Creates go in slow-start batches (1, 2, 4,
// ...) so a template the API rejects costs one failed request rather than hundreds; deletes
// pick the least useful pods first. Every write is announced to the expectations first, so the
// events it causes are recognised and a burst of them never triggers a second round.
import { ApiError } from "../../../api/errors";
import type { Pod } from "../../../api/resources/core/pod";
import type { ReplicaSet } from "../../../api/resources/apps/replicaset";
import type { ResourceClient } from "../../../client/client";
import type { EventRecorder } from "../../../client/events";
import { objectKeyOf } from "../../../client/informer";
import { controllerRefTo } from "../ownership";
import { compareForDeletion } from "../podutil";
import type { Expectations } from "./expectations";
import type { ManageError } from "./status";

/** At most this many creates or deletes per sync, as upstream's burstReplicas. */
export const BURST_REPLICAS = 500;

export interface ManageContext {
  pods: ResourceClient<Pod>;
  expectations: Expectations;
  recorder: EventRecorder;
  /** The ReplicaSet (or ReplicationController) with apiVersion and kind set, for events and owner references. */
  rs: ReplicaSet;
  key: string;
  /** Active pods this ReplicaSet controls. */
  owned: Pod[];
  /** Active pods of this ReplicaSet and its siblings (same controller): they rank co-location. Asked for only when deleting. */
  related: () => Pod[];
}

/** Runs `count` calls in batches of doubling size; stops after the first batch with a failure. */
export async function slowStartBatch(count: number, initial: number, fn: () => Promise<void>): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let size = Math.min(remaining, initial); size > 0; size = Math.min(2 * size, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: size }, () => fn()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    successes += results.filter((r) => r.status === "fulfilled").length;
    if (failed) return { successes, error: failed.reason };
    remaining -= size;
  }
  return { successes };
}

export function podFromTemplate(rs: ReplicaSet): Pod {
  const t = rs.spec!.template!;
  const metadata: Pod["metadata"] = {
    generateName: `${rs.metadata.name}-`,
    namespace: rs.metadata.namespace,
    labels: { ...(t.metadata?.labels ?? {}) },
    ownerReferences: [controllerRefTo({ apiVersion: rs.apiVersion ?? "apps/v1", kind: rs.kind ?? "ReplicaSet", obj: rs })],
  };
  if (t.metadata?.annotations) metadata.annotations = { ...t.metadata.annotations };
  if (t.metadata?.finalizers) metadata.finalizers = [...t.metadata.finalizers];
  return { apiVersion: "v1", kind: "Pod", metadata, spec: structuredClone(t.spec) } as Pod;
}

const namespaceTerminating = (e: unknown) =>
  e instanceof ApiError && e.code === 403 && /being terminated|terminating/i.test(e.message);

/** Creates or deletes pods; returns what failed, for the ReplicaFailure condition. */
export async function manageReplicas(ctx: ManageContext): Promise<ManageError | undefined> {
  const want = ctx.rs.spec?.replicas ?? 1;
  const diff = ctx.owned.length - want;
  if (diff < 0) return createPods(ctx, Math.min(-diff, BURST_REPLICAS));
  if (diff > 0) return deletePods(ctx, Math.min(diff, BURST_REPLICAS));
  return undefined;
}

async function createPods(ctx: ManageContext, n: number): Promise<ManageError | undefined> {
  ctx.expectations.expectCreations(ctx.key, n);
  const { successes, error } = await slowStartBatch(n, 1, async () => {
    try {
      const pod = await ctx.pods.create(ctx.rs.metadata.namespace, podFromTemplate(ctx.rs));
      ctx.recorder.event(ctx.rs, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name}`);
    } catch (e) {
      if (namespaceTerminating(e)) return; // every later create fails too; nothing to report
      ctx.recorder.event(ctx.rs, "Warning", "FailedCreate", `Error creating: ${(e as Error).message}`);
      throw e;
    }
  });
  // Creates that failed or never ran will never be observed: stop waiting for them.
  for (let i = successes; i < n; i++) ctx.expectations.creationObserved(ctx.key);
  return error === undefined ? undefined : { reason: "FailedCreate", message: (error as Error).message ?? String(error) };
}

/** The `n` least useful pods, ranking pods doubled up on a node with their siblings first. */
export function podsToDelete(owned: Pod[], related: Pod[], n: number, nowMs = Date.now()): Pod[] {
  if (n >= owned.length) return owned;
  const perNode = new Map<string, number>();
  for (const p of related) if (p.spec?.nodeName) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
  const rank = (p: Pod) => (p.spec?.nodeName ? (perNode.get(p.spec.nodeName) ?? 0) : 0);
  return [...owned].sort((a, b) => compareForDeletion(a, b, rank, nowMs)).slice(0, n);
}

async function deletePods(ctx: ManageContext, n: number): Promise<ManageError | undefined> {
  const victims = podsToDelete(ctx.owned, ctx.related(), n);
  ctx.expectations.expectDeletions(ctx.key, victims.map(objectKeyOf));
  const results = await Promise.allSettled(
    victims.map(async (pod) => {
      try {
        await ctx.pods.delete(pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
        ctx.recorder.event(ctx.rs, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name}`);
      } catch (e) {
        // Either way this deletion will not be observed as our doing: stop waiting for it.
        ctx.expectations.deletionObserved(ctx.key, objectKeyOf(pod));
        if (e instanceof ApiError && e.code === 404) return;
        ctx.recorder.event(ctx.rs, "Warning", "FailedDelete", `Error deleting: ${(e as Error).message}`);
        throw e;
      }
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  return failed ? { reason: "FailedDelete", message: (failed.reason as Error).message ?? String(failed.reason) } : undefined;
}
