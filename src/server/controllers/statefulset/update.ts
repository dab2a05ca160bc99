// One pass of the StatefulSet controller over a set and its pods, as upstream's updateStatefulSet:
//
// 1. Sort pods into replicas (ordinal in range, by ordinal) and condemned (out of range, highest
//    ordinal first); build the missing replicas, each at the current revision below the
//    partition and at the update revision from it on.
// 2. Replicas, lowest ordinal first: replace finished pods, create missing ones (their claims
//    first), fix identity labels and claim ownership. OrderedReady stops at the first pod it had
//    to create or that is not Running, Ready and available; Parallel goes on.
// 3. Condemned pods, highest ordinal first: set claim ownership for the retention policy, then
//    delete. OrderedReady deletes one at a time, and only while every other pod is healthy.
// 4. RollingUpdate: delete the highest-ordinal pod at or above the partition that is not at the
//    update revision, once the ones above it are healthy again (or up to maxUnavailable at once
//    when it is set). OnDelete leaves that to the user.
//
// Pure apart from `control`, which does the API writes, so it is tested with a fake.
import type { Pod } from "../../../api/resources/core/pod";
import type { PodTemplateSpec } from "../../../api/resources/core/podspec.schema";
import type { StatefulSet, StatefulSetStatus } from "../../../api/resources/apps/statefulset";
import { identityMatches, newStatefulSetPod, ordinalOf, podRevision, replicasOf, startOrdinal, inOrdinalRange } from "./identity";
import { countReplicas, isCreated, isFinished, isHealthy, isPending, isRunningAndAvailable, isRunningAndReady, isTerminating } from "./status";

export interface Revision {
  name: string;
  template: PodTemplateSpec;
}

/** The writes a pass may make (podcontrol.ts against the API; a fake in tests). */
export interface StatefulPodControl {
  /** Creates the pod's missing claims, then the pod, then sets claim ownership for the retention policy. */
  createPod(set: StatefulSet, pod: Pod): Promise<void>;
  deletePod(set: StatefulSet, pod: Pod): Promise<void>;
  /** Puts back the identity labels of an existing pod. */
  fixIdentity(set: StatefulSet, pod: Pod): Promise<void>;
  /** Creates claims of an existing (Pending) pod that are missing. */
  createMissingClaims(set: StatefulSet, pod: Pod): Promise<void>;
  /** A claim still owned by an earlier pod of this name, waiting for the garbage collector. */
  claimIsStale(set: StatefulSet, pod: Pod): boolean;
  /** Whether the pod's claims carry the owner references the retention policy calls for. */
  claimsMatchRetention(set: StatefulSet, pod: Pod): boolean;
  updateClaimsForRetention(set: StatefulSet, pod: Pod): Promise<void>;
}

export interface UpdateInput {
  set: StatefulSet;
  current: Revision;
  update: Revision;
  collisionCount: number;
  /** The pods the set controls (claimed, members by name). */
  pods: Pod[];
  nowMs: number;
}

export interface UpdateResult {
  status: StatefulSetStatus;
  /** The first write that failed; the status is still written. */
  error?: unknown;
  /** A pod waits for a claim an earlier pod of its name still owns (no watch event says when it goes). */
  waitingOnStaleClaim?: boolean;
}

/** upstream's getStatefulSetMaxUnavailable: an int, or a percentage of replicas rounded down; at least 1. */
export function maxUnavailableOf(v: number | string | undefined, replicas: number): number {
  let n = 1;
  if (typeof v === "number") n = v;
  else if (typeof v === "string" && /^[0-9]+%$/.test(v)) n = Math.floor((Number(v.slice(0, -1)) * replicas) / 100);
  return Math.max(1, n);
}

/** Runs fn over 0..n-1: in order, stopping at the first true, or (Parallel) in doubling batches until one fails. */
async function runForAll(n: number, fn: (i: number) => Promise<boolean>, monotonic: boolean): Promise<{ exit: boolean; error?: unknown }> {
  if (monotonic) {
    for (let i = 0; i < n; i++) {
      try {
        if (await fn(i)) return { exit: true };
      } catch (error) {
        return { exit: true, error };
      }
    }
    return { exit: false };
  }
  let next = 0;
  for (let size = Math.min(1, n); next < n; size = Math.min(size * 2, n - next)) {
    const batch = Array.from({ length: size }, (_, k) => next + k);
    next += size;
    const results = await Promise.allSettled(batch.map((i) => fn(i)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) return { exit: true, error: failed.reason };
  }
  return { exit: false };
}

export async function updateStatefulSet(input: UpdateInput, control: StatefulPodControl): Promise<UpdateResult> {
  const { set, current, update, nowMs } = input;
  const spec = set.spec!;
  const minReady = spec.minReadySeconds ?? 0;
  const status: StatefulSetStatus = {
    observedGeneration: set.metadata.generation,
    currentRevision: current.name,
    updateRevision: update.name,
    collisionCount: input.collisionCount,
  };

  const start = startOrdinal(set);
  const replicaCount = replicasOf(set);
  const replicas: Pod[] = new Array(replicaCount);
  const condemned: Pod[] = [];
  for (const pod of input.pods) {
    const ord = ordinalOf(pod);
    if (inOrdinalRange(set, ord)) replicas[ord - start] = pod;
    else if (ord >= 0) condemned.push(pod);
  }
  // Missing ordinals are built at the current revision below the partition, at the update revision from it on.
  const strategy = spec.updateStrategy;
  const partition = strategy?.rollingUpdate?.partition ?? 0;
  for (let i = 0; i < replicaCount; i++) {
    if (replicas[i]) continue;
    const ord = start + i;
    const atCurrent =
      strategy?.type === "RollingUpdate" &&
      (strategy.rollingUpdate ? ord < partition : ord < (set.status?.currentReplicas ?? 0));
    const rev = atCurrent ? current : update;
    replicas[i] = newStatefulSetPod(set, rev.template, ord, rev.name);
  }
  condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));

  let firstUnhealthy: Pod | undefined = replicas.find((p) => !isHealthy(p));
  for (let i = condemned.length - 1; i >= 0 && !firstUnhealthy; i--) if (!isHealthy(condemned[i]!)) firstUnhealthy = condemned[i];

  let waitingOnStaleClaim = false;
  const done = (error?: unknown): UpdateResult => {
    countReplicas(status, [replicas, condemned], minReady, nowMs);
    return { status, ...(error !== undefined && { error }), ...(waitingOnStaleClaim && { waitingOnStaleClaim }) };
  };
  // A set being deleted only reports; the garbage collector removes its pods.
  if (set.metadata.deletionTimestamp) return done();

  const monotonic = spec.podManagementPolicy !== "Parallel";

  const processReplica = async (i: number): Promise<boolean> => {
    const pod = replicas[i]!;
    // A finished pod is deleted and made again on a later pass, once it is gone.
    if (isFinished(pod)) {
      if (!isTerminating(pod)) await control.deletePod(set, pod);
      return true;
    }
    if (!isCreated(pod)) {
      if (control.claimIsStale(set, pod)) {
        waitingOnStaleClaim = true;
        return true;
      }
      await control.createPod(set, pod);
      return monotonic;
    }
    if (isPending(pod)) await control.createMissingClaims(set, pod);
    if (monotonic && (isTerminating(pod) || !isRunningAndReady(pod) || !isRunningAndAvailable(pod, minReady, nowMs))) return true;
    if (!identityMatches(set, pod)) await control.fixIdentity(set, pod);
    if (!control.claimsMatchRetention(set, pod)) await control.updateClaimsForRetention(set, pod);
    return false;
  };
  let run = await runForAll(replicas.length, processReplica, monotonic);
  if (run.exit || run.error !== undefined) return done(run.error);

  // Claims of condemned pods get their owners for whenScaled before the pods go.
  const fixCondemnedClaims = async (i: number) => {
    const pod = condemned[i]!;
    if (!control.claimsMatchRetention(set, pod)) await control.updateClaimsForRetention(set, pod);
    return false;
  };
  run = await runForAll(condemned.length, fixCondemnedClaims, monotonic);
  if (run.exit || run.error !== undefined) return done(run.error);

  // Every replica is healthy here (OrderedReady); scale down one pod at a time from the top.
  const processCondemned = async (i: number): Promise<boolean> => {
    const pod = condemned[i]!;
    if (isTerminating(pod)) return monotonic;
    if (monotonic && pod !== firstUnhealthy && (!isRunningAndReady(pod) || !isRunningAndAvailable(pod, minReady, nowMs))) return true;
    await control.deletePod(set, pod);
    return true;
  };
  run = await runForAll(condemned.length, processCondemned, monotonic);
  if (run.exit || run.error !== undefined) return done(run.error);

  const result = done();
  if (strategy?.type === "OnDelete") return result;

  try {
    if (strategy?.rollingUpdate?.maxUnavailable !== undefined) await rollWithMaxUnavailable(input, replicas, partition, status, control);
    else await rollOneAtATime(input, replicas, partition, status, control);
  } catch (error) {
    return { status, error };
  }
  return result;
}

/** A pod deleted for the update no longer counts as current (one without a revision never did). */
function uncount(pod: Pod, input: UpdateInput, status: StatefulSetStatus) {
  if (podRevision(pod) === input.current.name && isCreated(pod)) status.currentReplicas = Math.max(0, (status.currentReplicas ?? 0) - 1);
}

/** The highest pod at or above the partition not at the update revision goes, once those above it are healthy. */
async function rollOneAtATime(input: UpdateInput, replicas: Pod[], partition: number, status: StatefulSetStatus, control: StatefulPodControl) {
  for (let target = replicas.length - 1; target >= partition; target--) {
    const pod = replicas[target]!;
    if (podRevision(pod) !== input.update.name && !isTerminating(pod)) {
      await control.deletePod(input.set, pod);
      uncount(pod, input, status);
      return;
    }
    if (!isHealthy(pod)) return;
  }
}

/** Up to maxUnavailable pods out at once (counting those already unavailable), highest ordinals first. */
async function rollWithMaxUnavailable(input: UpdateInput, replicas: Pod[], partition: number, status: StatefulSetStatus, control: StatefulPodControl) {
  const minReady = input.set.spec?.minReadySeconds ?? 0;
  const max = maxUnavailableOf(input.set.spec?.updateStrategy?.rollingUpdate?.maxUnavailable, replicas.length);
  const unavailable = replicas.filter((p) => isTerminating(p) || !isRunningAndAvailable(p, minReady, input.nowMs)).length;
  if (unavailable >= max) return;
  let budget = max - unavailable;
  for (let target = replicas.length - 1; target >= partition && budget > 0; target--) {
    const pod = replicas[target]!;
    if (podRevision(pod) === input.update.name || isTerminating(pod)) continue;
    await control.deletePod(input.set, pod);
    uncount(pod, input, status);
    budget--;
  }
}
