// The pure part of a Job's sync: which finished pods are newly accounted for (and so may lose
// their tracking finalizer), what the counts are, whether the Job has failed or succeeded, and
// which pods to create or delete. No I/O here; controller.ts carries the plan out.
import type { Job } from "../../../api/resources/batch/job";
import { inIntervals, indexesOf, parseIndexes } from "../../../api/resources/batch/indexes";
import type { Pod } from "../../../api/resources/core/pod";
import { compareForDeletion } from "../podutil";
import { podFailurePolicyVerdict, recordedVerdict, successPolicyVerdict, VERDICTS, type Verdict } from "./conditions";
import {
  completionIndexOf,
  finishedAt,
  hasTrackingFinalizer,
  indexFailureCountOf,
  isActive,
  isFailed,
  isTerminating,
  matchPodFailurePolicy,
  restartsOfActive,
} from "./podfacts";
import { JOB_LABELS } from "../../../api/resources/batch/labels";

export interface Backoff {
  /** Delay after the first failure; doubles with each further failure since the last success. */
  baseMs: number;
  maxMs: number;
}

/** Upstream's DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff. */
export const DEFAULT_BACKOFF: Backoff = { baseMs: 10_000, maxMs: 10 * 60_000 };

export interface Tracking {
  uncountedSucceeded: Set<string>;
  uncountedFailed: Set<string>;
  succeededIndexes: Set<number>;
  failedIndexes: Set<number>;
  /** Finished pods that are (or were already) recorded: their finalizer may go. */
  finalize: Pod[];
  /** Something new was recorded: it must be written before any finalizer is removed. */
  recorded: boolean;
  /** A FailJob rule of the pod failure policy matched a newly failed pod. */
  failJob?: string;
}

/**
 * Accounts for finished pods that still carry the tracking finalizer, as upstream's
 * trackJobStatusAndRemoveFinalizers: a succeeded pod adds its uid (NonIndexed) or its index
 * (Indexed) to what is recorded, a failed pod its uid, unless the pod failure policy ignores it.
 * A pod already recorded is only finalized. Nothing is counted twice: the counters grow only from
 * uids whose pods have lost the finalizer, and a pod without it (or `released`: its finalizer
 * removed by a write the cache has not caught up with) is never looked at again.
 */
export function track(job: Job, pods: Pod[], released: ReadonlySet<string> = new Set()): Tracking {
  const spec = job.spec!;
  const status = job.status ?? {};
  const indexed = spec.completionMode === "Indexed";
  const completions = spec.completions ?? 0;
  const perIndex = indexed && spec.backoffLimitPerIndex !== undefined;
  const t: Tracking = {
    uncountedSucceeded: new Set(status.uncountedTerminatedPods?.succeeded ?? []),
    uncountedFailed: new Set(status.uncountedTerminatedPods?.failed ?? []),
    succeededIndexes: indexed ? indexesOf(status.completedIndexes, completions) : new Set(),
    failedIndexes: perIndex ? indexesOf(status.failedIndexes, completions) : new Set(),
    finalize: [],
    recorded: false,
  };
  for (const pod of pods) {
    const uid = pod.metadata.uid!;
    // Released already, by a write the pod cache has not shown yet: counted, never again.
    if (!hasTrackingFinalizer(pod) || released.has(uid)) continue;
    if (t.uncountedSucceeded.has(uid) || t.uncountedFailed.has(uid)) {
      t.finalize.push(pod);
      continue;
    }
    const succeeded = pod.status?.phase === "Succeeded";
    if (!succeeded && !isFailed(pod)) continue;
    t.finalize.push(pod);
    const ix = indexed ? completionIndexOf(pod) : undefined;
    const validIndex = ix !== undefined && ix < completions;
    if (succeeded) {
      if (!indexed) {
        t.uncountedSucceeded.add(uid);
        t.recorded = true;
      } else if (validIndex && !t.succeededIndexes.has(ix) && !t.failedIndexes.has(ix)) {
        t.succeededIndexes.add(ix);
        t.recorded = true;
      }
      continue;
    }
    if (indexed && !validIndex) continue;
    const match = spec.podFailurePolicy ? matchPodFailurePolicy(job, pod) : undefined;
    if (match?.action === "Ignore") continue;
    t.uncountedFailed.add(uid);
    t.recorded = true;
    if (match?.action === "FailJob") t.failJob ??= match.message;
    if (perIndex && validIndex && !t.succeededIndexes.has(ix)) {
      if (match?.action === "FailIndex" || indexFailureCountOf(pod) + 1 > spec.backoffLimitPerIndex!) {
        if (!t.failedIndexes.has(ix)) t.failedIndexes.add(ix);
      }
    }
  }
  return t;
}

export interface Counts {
  succeeded: number;
  failed: number;
  active: Pod[];
  terminating: Pod[];
}

export function countsOf(job: Job, pods: Pod[], t: Tracking): Counts {
  const indexed = job.spec!.completionMode === "Indexed";
  return {
    succeeded: indexed ? t.succeededIndexes.size : (job.status?.succeeded ?? 0) + t.uncountedSucceeded.size,
    failed: (job.status?.failed ?? 0) + t.uncountedFailed.size,
    active: pods.filter(isActive),
    terminating: pods.filter(isTerminating),
  };
}

/** Whether a successPolicy rule holds for the succeeded indexes: the first that does, by position. */
export function matchSuccessPolicy(job: Job, succeeded: Set<number>): number | undefined {
  const rules = job.spec?.successPolicy?.rules ?? [];
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.succeededIndexes !== undefined) {
      const parsed = parseIndexes(r.succeededIndexes, job.spec?.completions);
      if ("error" in parsed) continue;
      let hit = 0;
      for (const ix of succeeded) if (inIntervals(parsed.intervals, ix)) hit++;
      if (r.succeededCount !== undefined ? hit >= r.succeededCount : hit === parsed.total) return i;
    } else if (r.succeededCount !== undefined && succeeded.size >= r.succeededCount) return i;
  }
  return undefined;
}

/** Past spec.activeDeadlineSeconds since status.startTime: when it passes, or now if it has. */
export function deadlineAt(job: Job): number | undefined {
  const ads = job.spec?.activeDeadlineSeconds;
  const start = job.status?.startTime;
  if (ads === undefined || !start) return undefined;
  return Date.parse(start) + ads * 1000;
}

/**
 * The verdict on a Job that has none yet, in upstream's order: a FailJob rule, the backoff limit
 * (failed pods, or container restarts under restartPolicy OnFailure), the deadline, too many
 * failed indexes; then success by the success policy or by completions.
 */
export function judge(job: Job, t: Tracking, c: Counts, now: number): Verdict | undefined {
  const recorded = recordedVerdict(job);
  if (recorded) return recorded;
  const spec = job.spec!;
  const backoffLimit = spec.backoffLimit ?? 6;
  if (t.failJob) return podFailurePolicyVerdict(t.failJob);
  if (c.failed > backoffLimit) return VERDICTS.backoffLimit;
  if (spec.template.spec?.restartPolicy === "OnFailure" && spec.backoffLimitPerIndex === undefined) {
    const restarts = restartsOfActive(c.active);
    if (backoffLimit === 0 ? restarts > 0 : restarts >= backoffLimit) return VERDICTS.backoffLimit;
  }
  const deadline = deadlineAt(job);
  if (deadline !== undefined && now >= deadline) return VERDICTS.deadline;
  const indexed = spec.completionMode === "Indexed";
  if (spec.maxFailedIndexes !== undefined && t.failedIndexes.size > spec.maxFailedIndexes) return VERDICTS.maxFailedIndexes;
  if (indexed) {
    const rule = matchSuccessPolicy(job, t.succeededIndexes);
    if (rule !== undefined) return successPolicyVerdict(rule);
    if (t.succeededIndexes.size + t.failedIndexes.size >= (spec.completions ?? 0))
      return t.failedIndexes.size ? VERDICTS.failedIndexes : VERDICTS.completions;
    return undefined;
  }
  if (spec.completions === undefined) return c.succeeded > 0 && c.active.length === 0 ? VERDICTS.completions : undefined;
  return c.succeeded >= spec.completions ? VERDICTS.completions : undefined;
}

export interface PodToCreate {
  index?: number;
  indexFailures?: number;
  indexIgnoredFailures?: number;
}

export interface Changes {
  create: PodToCreate[];
  remove: Pod[];
  /** Creates held back by the failure backoff: when they may go. */
  retryAt?: number;
}

/** Failures since the last success and when the last of them happened. */
function failuresSince(pods: Pod[], now: number): { count: number; last: number } {
  let lastSuccess = -Infinity;
  for (const p of pods) if (p.status?.phase === "Succeeded") lastSuccess = Math.max(lastSuccess, finishedAt(p, now));
  let count = 0;
  let last = 0;
  for (const p of pods) {
    if (p.status?.phase !== "Failed") continue;
    const at = finishedAt(p, now);
    if (at > lastSuccess) {
      count++;
      last = Math.max(last, at);
    }
  }
  return { count, last };
}

const backoffDelay = (failures: number, b: Backoff) => (failures <= 0 ? 0 : Math.min(b.baseMs * 2 ** Math.min(failures - 1, 30), b.maxMs));

/** The pods to create and delete for a Job that is running (not suspended, no verdict). */
export function changes(job: Job, pods: Pod[], t: Tracking, c: Counts, backoff: Backoff, now: number): Changes {
  const spec = job.spec!;
  const parallelism = spec.parallelism ?? 1;
  const holdTerminating = spec.podReplacementPolicy === "Failed";
  const occupied = c.active.length + (holdTerminating ? c.terminating.length : 0);
  const byAge = (pods: Pod[]) => [...pods].sort((a, b) => compareForDeletion(a, b, () => 0, now));
  if (spec.completionMode !== "Indexed") {
    let want: number;
    if (spec.completions === undefined) want = c.succeeded > 0 ? c.active.length : parallelism;
    else want = Math.max(0, Math.min(spec.completions - c.succeeded, parallelism));
    if (c.active.length > want) return { create: [], remove: byAge(c.active).slice(0, c.active.length - want) };
    if (occupied >= want) return { create: [], remove: [] };
    const { count, last } = failuresSince(pods, now);
    const readyAt = last + backoffDelay(count, backoff);
    if (count > 0 && now < readyAt) return { create: [], remove: [], retryAt: readyAt };
    return { create: Array.from({ length: want - occupied }, () => ({})), remove: [] };
  }
  return indexedChanges(job, pods, t, c, backoff, now, holdTerminating);
}

function indexedChanges(job: Job, pods: Pod[], t: Tracking, c: Counts, backoff: Backoff, now: number, holdTerminating: boolean): Changes {
  const spec = job.spec!;
  const completions = spec.completions ?? 0;
  const parallelism = spec.parallelism ?? 1;
  const remove: Pod[] = [];
  const keep = new Map<number, Pod>();
  // Active pods without a valid index, of a finished index, or doubling another go.
  for (const p of [...c.active].sort((a, b) => Date.parse(a.metadata.creationTimestamp ?? "") - Date.parse(b.metadata.creationTimestamp ?? ""))) {
    const ix = completionIndexOf(p);
    if (ix === undefined || ix >= completions || t.succeededIndexes.has(ix) || t.failedIndexes.has(ix) || keep.has(ix)) remove.push(p);
    else keep.set(ix, p);
  }
  // Above parallelism (it was lowered): the highest indexes go first.
  const kept = [...keep.keys()].sort((a, b) => b - a);
  for (let i = 0; i < kept.length - parallelism; i++) {
    remove.push(keep.get(kept[i]!)!);
    keep.delete(kept[i]!);
  }
  const busy = new Set(keep.keys());
  if (holdTerminating) for (const p of c.terminating) {
    const ix = completionIndexOf(p);
    if (ix !== undefined) busy.add(ix);
  }
  let room = parallelism - keep.size - (holdTerminating ? c.terminating.length : 0);
  if (room <= 0) return { create: [], remove };
  // Failures per index, from the pods still around (their annotations carry earlier ones).
  const perIndex = spec.backoffLimitPerIndex !== undefined;
  const failures = new Map<number, { counted: number; ignored: number; last: number }>();
  for (const p of pods) {
    if (p.status?.phase !== "Failed" && !(p.metadata.deletionTimestamp && isFailed(p))) continue;
    const ix = completionIndexOf(p);
    if (ix === undefined) continue;
    const ignored = spec.podFailurePolicy ? matchPodFailurePolicy(job, p)?.action === "Ignore" : false;
    const counted = indexFailureCountOf(p) + (ignored ? 0 : 1);
    const ign = Number(p.metadata.annotations?.[JOB_LABELS.indexIgnoredFailureCount] ?? 0) + (ignored ? 1 : 0);
    const f = failures.get(ix) ?? { counted: 0, ignored: 0, last: 0 };
    failures.set(ix, { counted: Math.max(f.counted, counted), ignored: Math.max(f.ignored, ign), last: Math.max(f.last, finishedAt(p, now)) });
  }
  const jobBackoff = perIndex ? undefined : failuresSince(pods, now);
  if (jobBackoff && jobBackoff.count > 0) {
    const readyAt = jobBackoff.last + backoffDelay(jobBackoff.count, backoff);
    if (now < readyAt) return { create: [], remove, retryAt: readyAt };
  }
  const create: PodToCreate[] = [];
  let retryAt: number | undefined;
  for (let ix = 0; ix < completions && room > 0; ix++) {
    if (busy.has(ix) || t.succeededIndexes.has(ix) || t.failedIndexes.has(ix)) continue;
    const f = failures.get(ix);
    if (perIndex && f && f.counted > 0) {
      const readyAt = f.last + backoffDelay(f.counted, backoff);
      if (now < readyAt) {
        retryAt = Math.min(retryAt ?? Infinity, readyAt);
        continue;
      }
    }
    create.push({ index: ix, ...(perIndex && { indexFailures: f?.counted ?? 0, indexIgnoredFailures: f?.ignored ?? 0 }) });
    room--;
  }
  return { create, remove, retryAt };
}
