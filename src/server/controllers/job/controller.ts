// The Job controller: runs a Job's pods to completion and reports it, as upstream's
// pkg/controller/job with the 1.32 behaviour: completions and parallelism, Indexed completion,
// backoffLimit and backoffLimitPerIndex/maxFailedIndexes, activeDeadlineSeconds, the pod failure
// and success policies, suspend, the interim FailureTarget/SuccessCriteriaMet conditions before
// Failed/Complete (added once no pod of the Job is left running), and ttlSecondsAfterFinished.
//
// Pods are counted exactly once, also across restarts of the server: every pod carries the
// batch.kubernetes.io/job-tracking finalizer; a finished pod's uid (or its index) is first
// written to status.uncountedTerminatedPods, then the finalizer is removed, then the uid moves
// to the counters. Status writes carry the resourceVersion they were computed from, so a write
// from a stale cache is refused instead of counting a second time.
import { ApiError } from "../../../api/errors";
import type { OwnerReference } from "../../../api/meta";
import { formatIndexes } from "../../../api/resources/batch/indexes";
import { jobs as jobsDef, type Job, type JobStatus } from "../../../api/resources/batch/job";
import { JOB_CONTROLLER_NAME, JOB_TRACKING_FINALIZER } from "../../../api/resources/batch/labels";
import { jsonEqual } from "../../../api/resources/common";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import { labelSelectorFromObject } from "../../../api/selectors";
import type { KubeClient, ResourceClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { Informer, objectKeyOf } from "../../../client/informer";
import { ControlLoop, type ReconcileResult, type Reconciler } from "../../../machinery/controlloop";
import type { SharedInformers } from "../informers";
import { ControllerIndex } from "../nsindex";
import { claimObjects } from "../ownership";
import { controllerRefOf } from "../podutil";
import { Expectations } from "../replicaset/expectations";
import { slowStartBatch } from "../replicaset/manage";
import { findCondition, isFinished, isTrue, recordedVerdict, setCondition, type Verdict } from "./conditions";
import { changes, countsOf, deadlineAt, DEFAULT_BACKOFF, judge, track, type Backoff, type Changes, type Counts, type Tracking } from "./plan";
import { hasTrackingFinalizer, isActive } from "./podfacts";
import { podFromJob } from "./podtemplate";

const ORPHAN_PREFIX = "pod:";
/** At most this many pods created or deleted per sync, as upstream's burst. */
const BURST = 500;

const withKind = (job: Job): Job => ({ ...job, apiVersion: "batch/v1", kind: "Job" });
const nowIso = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
const gone = (e: unknown) => e instanceof ApiError && e.code === 404;

export interface JobControllerOptions {
  workers?: number;
  informers?: SharedInformers;
  /** The delay before a failed pod is replaced (doubling per failure, capped); upstream's 10 s and 10 min by default. */
  backoff?: Backoff;
}

export class JobController implements Reconciler {
  readonly name = "job-controller";
  readonly loop: ControlLoop;
  private readonly expectations = new Expectations();
  private readonly jobClient: ResourceClient<Job>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly jobInformer: Informer<Job>;
  private readonly podInformer: Informer<Pod>;
  private readonly podsByController: ControllerIndex<Pod>;
  private readonly recorder: EventRecorder;
  private readonly backoff: Backoff;
  private readonly shared?: SharedInformers;
  /**
   * The resourceVersion of each Job's last status write. A cache older than that would judge
   * from counts that do not yet hold the pods this controller released (their finalizers gone),
   * and could replace a pod that already succeeded; such a Job waits for its own write.
   */
  private readonly written = new Map<string, number>();
  /** Pods whose tracking finalizer this controller removed, until the pod cache shows it gone. */
  private readonly released = new Set<string>();
  /** Jobs with spec.manualSelector by namespace: the only ones that may adopt orphan pods. */
  private readonly manualSelectors = new Map<string, Set<string>>();

  constructor(client: KubeClient, opts: JobControllerOptions = {}) {
    this.shared = opts.informers;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.jobClient = client.resource<Job>(jobsDef);
    this.podClient = client.resource<Pod>(podsDef);
    this.jobInformer = opts.informers ? opts.informers.get<Job>(jobsDef) : new Informer(this.jobClient);
    this.podInformer = opts.informers ? opts.informers.get<Pod>(podsDef) : new Informer(this.podClient);
    this.podsByController = ControllerIndex.of(this.podInformer, opts.informers);
    this.recorder = new EventRecorder(client, "job-controller");
    this.loop = new ControlLoop(this, opts.workers ?? 4);
    this.on(this.jobInformer, {
      add: (j) => {
        this.noteSelector(j, true);
        this.loop.enqueue(objectKeyOf(j));
      },
      update: (_, j) => {
        this.noteSelector(j, true);
        this.loop.enqueue(objectKeyOf(j));
      },
      delete: (j) => {
        this.noteSelector(j, false);
        this.written.delete(objectKeyOf(j));
        this.expectations.forget(objectKeyOf(j));
        // Its pods may still hold the finalizer: release them.
        for (const p of this.podsByController.controlledBy(j.metadata.uid!)) if (hasTrackingFinalizer(p)) this.loop.enqueue(ORPHAN_PREFIX + objectKeyOf(p));
      },
    });
    this.on(this.podInformer, {
      add: (p) => this.podEvent(p, "add"),
      update: (old, p) => {
        if (!jsonEqual(controllerRefOf(old) ?? null, controllerRefOf(p) ?? null)) this.podEvent(old, "update");
        this.podEvent(p, "update");
      },
      delete: (p) => this.podEvent(p, "delete"),
    });
  }

  private on<T extends Job | Pod>(inf: Informer<T>, h: Parameters<Informer<T>["on"]>[0]) {
    if (this.shared) this.shared.on(inf, h);
    else inf.on(h);
  }

  async start() {
    if (this.shared) await Promise.all([this.shared.start(this.jobInformer), this.shared.start(this.podInformer)]);
    else await Promise.all([this.jobInformer.start(), this.podInformer.start()]);
    this.loop.start();
  }

  async stop() {
    if (!this.shared) {
      this.jobInformer.stop();
      this.podInformer.stop();
    }
    await this.loop.stop();
  }

  private jobOf(namespace: string | undefined, ref: OwnerReference | undefined): Job | undefined {
    if (!ref || ref.kind !== "Job") return undefined;
    const job = this.jobInformer.get(`${namespace}/${ref.name}`);
    return job?.metadata.uid === ref.uid ? job : undefined;
  }

  private podEvent(pod: Pod, kind: "add" | "update" | "delete") {
    if (this.released.size && (kind === "delete" || !hasTrackingFinalizer(pod))) this.released.delete(pod.metadata.uid!);
    const ref = controllerRefOf(pod);
    const job = this.jobOf(pod.metadata.namespace, ref);
    if (job) {
      const key = objectKeyOf(job);
      if (kind === "add") this.expectations.creationObserved(key);
      if (kind === "delete" || (kind === "update" && pod.metadata.deletionTimestamp)) this.expectations.deletionObserved(key, objectKeyOf(pod));
      this.loop.enqueue(key);
      return;
    }
    if (kind !== "delete" && hasTrackingFinalizer(pod)) this.loop.enqueue(ORPHAN_PREFIX + objectKeyOf(pod));
    // An orphan a Job with a manual selector may adopt.
    if (!ref && kind !== "delete") {
      for (const key of this.manualSelectors.get(pod.metadata.namespace ?? "") ?? []) {
        const j = this.jobInformer.get(key);
        if (j && this.selects(j, pod)) this.loop.enqueue(key);
      }
    }
  }

  private noteSelector(job: Job, present: boolean) {
    const ns = job.metadata.namespace ?? "";
    const key = objectKeyOf(job);
    if (present && job.spec?.manualSelector) {
      let keys = this.manualSelectors.get(ns);
      if (!keys) this.manualSelectors.set(ns, (keys = new Set()));
      keys.add(key);
      return;
    }
    const keys = this.manualSelectors.get(ns);
    keys?.delete(key);
    if (keys?.size === 0) this.manualSelectors.delete(ns);
  }

  private selects(job: Job, pod: Pod): boolean {
    try {
      return labelSelectorFromObject(job.spec?.selector).matches(pod.metadata.labels);
    } catch {
      return false;
    }
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    try {
      if (key.startsWith(ORPHAN_PREFIX)) return await this.releaseOrphan(key.slice(ORPHAN_PREFIX.length));
      return await this.sync(key);
    } catch (e) {
      // A write lost a race with a newer version; its watch event brings the key back.
      if (e instanceof ApiError && e.code === 409) return { requeueAfterMs: 100 };
      throw e;
    }
  }

  /** A pod with the tracking finalizer whose Job is gone: nothing will count it any more. */
  private async releaseOrphan(podKey: string) {
    const pod = this.podInformer.get(podKey);
    if (!pod || !hasTrackingFinalizer(pod)) return;
    if (this.jobOf(pod.metadata.namespace, controllerRefOf(pod))) return;
    await this.removeFinalizers([pod]);
  }

  private async sync(key: string): Promise<ReconcileResult | void> {
    const cached = this.jobInformer.get(key);
    if (!cached) {
      this.expectations.forget(key);
      this.written.delete(key);
      return;
    }
    // Behind this controller's own last write: that write's event brings the key back.
    if (Number(cached.metadata.resourceVersion) < (this.written.get(key) ?? 0)) return;
    const job = withKind(cached);
    if (!job.spec) return;
    // Another controller's Job (spec.managedBy): not ours to touch.
    if (job.spec.managedBy !== undefined && job.spec.managedBy !== JOB_CONTROLLER_NAME) return;
    const satisfied = this.expectations.satisfied(key);
    const pods = await this.podsOf(job);
    if (isFinished(job)) return this.syncFinished(job, pods);
    if (job.metadata.deletionTimestamp) {
      await this.removeFinalizers(pods.filter(hasTrackingFinalizer));
      return;
    }
    const now = Date.now();
    const stamp = nowIso();
    const t = track(job, pods, this.released);
    const c = countsOf(job, pods, t);
    let conditions = [...(job.status?.conditions ?? [])];
    let startTime = job.status?.startTime;
    const suspended = job.spec.suspend === true;
    const wasSuspended = isTrue(conditions, "Suspended");
    const events: [("Normal" | "Warning"), string, string][] = [];
    if (suspended && !wasSuspended && !recordedVerdict(job)) {
      conditions = setCondition(conditions, "Suspended", "True", "JobSuspended", "Job suspended", stamp);
      events.push(["Normal", "Suspended", "Job suspended"]);
    } else if (!suspended && wasSuspended) {
      conditions = setCondition(conditions, "Suspended", "False", "JobResumed", "Job resumed", stamp);
      events.push(["Normal", "Resumed", "Job resumed"]);
      startTime = stamp; // the deadline counts from the resume
    }
    if (suspended) startTime = undefined;
    else startTime ??= stamp;

    // The verdict (interim condition), judged against the start time as it is now.
    const verdict = suspended && !recordedVerdict(job) ? undefined : judge({ ...job, status: { ...job.status, startTime } }, t, c, now);
    if (verdict && !isTrue(conditions, verdict.interim)) conditions = setCondition(conditions, verdict.interim, "True", verdict.reason, verdict.message, stamp);

    // Pods: all of them go when the Job is suspended or judged; else towards parallelism.
    let plan: Changes = { create: [], remove: [] };
    if (verdict || suspended) plan = { create: [], remove: c.active };
    else if (satisfied) plan = changes(job, pods, t, c, this.backoff, now);
    const removed = await this.deletePods(job, key, plan.remove.slice(0, BURST));
    const created = satisfied && plan.create.length ? await this.createPods(job, key, plan.create.slice(0, BURST)) : { count: 0 };

    const active = c.active.length - removed.length + created.count;
    const terminating = c.terminating.length + removed.length;
    const base = this.statusOf(job, t, c, { conditions, startTime, active, terminating, removed });
    let current = job;
    // 1. Record what is newly accounted for before any finalizer goes.
    if (t.recorded || !jsonEqual(base, job.status ?? {})) current = await this.writeStatus(current, base);
    // 2. Release the pods recorded, 3. count them.
    const released = await this.removeFinalizers(t.finalize);
    const counted = this.flushUncounted(current, released);
    let next = counted;
    if (verdict && active === 0 && terminating === 0 && !next.uncountedTerminatedPods?.succeeded?.length && !next.uncountedTerminatedPods?.failed?.length)
      next = this.finish(next, verdict, stamp);
    if (!jsonEqual(next, current.status ?? {})) current = await this.writeStatus(current, next);
    if (isFinished(current)) this.finishedEvent(current);
    for (const [type, reason, message] of events) this.recorder.event(job, type, reason, message);
    if (created.error) throw created.error;
    if (removed.error) throw removed.error;
    return this.requeue(current, verdict, plan, now);
  }

  /** When to look again without an event: a deadline, a backoff ending, terminating pods to count. */
  private requeue(job: Job, verdict: Verdict | undefined, plan: Changes, now: number): ReconcileResult | void {
    let at = Infinity;
    if (!verdict && !job.spec?.suspend) {
      const deadline = deadlineAt(job);
      if (deadline !== undefined) at = Math.min(at, deadline);
    }
    if (plan.retryAt !== undefined) at = Math.min(at, plan.retryAt);
    if (isFinished(job)) {
      const expiry = ttlExpiry(job);
      if (expiry !== undefined) at = Math.min(at, expiry);
    }
    if (at !== Infinity) return { requeueAfterMs: Math.max(0, at - now) + 20 };
  }

  /** The Job's status from this sync's view, uncounted pods included, counters as they were. */
  private statusOf(job: Job, t: Tracking, c: Counts, s: { conditions: JobStatus["conditions"]; startTime?: string; active: number; terminating: number; removed: { pods: Pod[] } }): JobStatus {
    const spec = job.spec!;
    const indexed = spec.completionMode === "Indexed";
    const removedUids = new Set(s.removed.pods.map((p) => p.metadata.uid));
    const ready = c.active.filter((p) => !removedUids.has(p.metadata.uid) && p.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True")).length;
    const status: JobStatus = {
      ...(s.conditions?.length ? { conditions: s.conditions } : {}),
      ...(s.startTime ? { startTime: s.startTime } : {}),
      ...(job.status?.completionTime ? { completionTime: job.status.completionTime } : {}),
      active: s.active,
      succeeded: indexed ? t.succeededIndexes.size : (job.status?.succeeded ?? 0),
      failed: job.status?.failed ?? 0,
      terminating: s.terminating,
      ...(indexed && t.succeededIndexes.size ? { completedIndexes: formatIndexes(t.succeededIndexes) } : {}),
      ...(spec.backoffLimitPerIndex !== undefined ? { failedIndexes: formatIndexes(t.failedIndexes) } : {}),
      uncountedTerminatedPods: {
        ...(t.uncountedSucceeded.size ? { succeeded: [...t.uncountedSucceeded] } : {}),
        ...(t.uncountedFailed.size ? { failed: [...t.uncountedFailed] } : {}),
      },
      ready,
    };
    if (!status.active) delete status.active;
    if (!status.succeeded) delete status.succeeded;
    if (!status.failed) delete status.failed;
    return status;
  }

  /** Moves recorded uids whose pods have lost the finalizer (or are gone) to the counters. */
  private flushUncounted(job: Job, released: Set<string>): JobStatus {
    const status = structuredClone(job.status ?? {});
    const pods = new Map(this.podsByController.controlledBy(job.metadata.uid!).map((p) => [p.metadata.uid!, p]));
    const canCount = (uid: string) => {
      if (released.has(uid) || this.released.has(uid)) return true;
      const pod = pods.get(uid);
      return !pod || !hasTrackingFinalizer(pod);
    };
    const succeeded = status.uncountedTerminatedPods?.succeeded ?? [];
    const failed = status.uncountedTerminatedPods?.failed ?? [];
    const keepS = succeeded.filter((u) => !canCount(u));
    const keepF = failed.filter((u) => !canCount(u));
    const indexed = job.spec!.completionMode === "Indexed";
    if (!indexed) status.succeeded = (status.succeeded ?? 0) + succeeded.length - keepS.length;
    status.failed = (status.failed ?? 0) + failed.length - keepF.length;
    status.uncountedTerminatedPods = { ...(keepS.length ? { succeeded: keepS } : {}), ...(keepF.length ? { failed: keepF } : {}) };
    if (!status.succeeded) delete status.succeeded;
    if (!status.failed) delete status.failed;
    return status;
  }

  /** The terminal condition after the interim one, once no pod of the Job is left running. */
  private finish(status: JobStatus, verdict: Verdict, stamp: string): JobStatus {
    const next = structuredClone(status);
    let conditions = next.conditions ?? [];
    if (!isTrue(conditions, verdict.interim)) conditions = setCondition(conditions, verdict.interim, "True", verdict.reason, verdict.message, stamp);
    const terminal = verdict.interim === "FailureTarget" ? "Failed" : "Complete";
    conditions = setCondition(conditions, terminal, "True", verdict.reason, verdict.message, stamp);
    // A finished Job is no longer suspended (upstream drops the condition's truth with it).
    const suspendedCond = findCondition(conditions, "Suspended");
    if (suspendedCond?.status === "True") conditions = setCondition(conditions, "Suspended", "False", "JobResumed", "Job resumed", stamp);
    next.conditions = conditions;
    if (terminal === "Complete") next.completionTime = stamp;
    delete next.active;
    next.terminating = 0;
    next.ready = 0;
    next.uncountedTerminatedPods = {};
    return next;
  }

  /** Upstream's events once a Job finishes: Completed, or a Warning with the failure's reason. */
  private finishedEvent(job: Job) {
    const failed = findCondition(job.status?.conditions, "Failed");
    if (failed?.status === "True") this.recorder.event(job, "Warning", failed.reason ?? "Failed", failed.message ?? "");
    else this.recorder.event(job, "Normal", "Completed", "Job completed");
  }

  /** A finished Job: release its pods, and delete it once its TTL has passed. */
  private async syncFinished(job: Job, pods: Pod[]): Promise<ReconcileResult | void> {
    await this.removeFinalizers(pods.filter(hasTrackingFinalizer));
    // Pods still running (the Job finished by someone else's hand) are stopped.
    const running = pods.filter(isActive);
    if (running.length) await this.deletePods(job, objectKeyOf(job), running);
    const expiry = ttlExpiry(job);
    if (expiry === undefined) return;
    const left = expiry - Date.now();
    if (left > 0) return { requeueAfterMs: left + 20 };
    try {
      // As upstream's TTL-after-finished controller: foreground, pinned to the version judged.
      await this.jobClient.delete(job.metadata.namespace, job.metadata.name!, {
        propagationPolicy: "Foreground",
        preconditions: { uid: job.metadata.uid, resourceVersion: job.metadata.resourceVersion },
      });
    } catch (e) {
      if (!gone(e)) throw e;
    }
  }

  /** The pods this Job controls, after adopting orphans its (manual) selector matches. */
  private async podsOf(job: Job): Promise<Pod[]> {
    const own = [...this.podsByController.controlledBy(job.metadata.uid!)];
    const ns = job.metadata.namespace!;
    if (!job.spec?.manualSelector || !this.podsByController.hasOrphans(ns)) return own;
    let selector: ReturnType<typeof labelSelectorFromObject>;
    try {
      selector = labelSelectorFromObject(job.spec.selector);
    } catch {
      return own;
    }
    const orphans = this.podsByController.orphansIn(ns).filter((p) => isActive(p));
    if (!orphans.length) return own;
    const claimed = await claimObjects({ apiVersion: "batch/v1", kind: "Job", obj: job, matches: (l) => selector.matches(l) }, [...own, ...orphans], this.podClient, async () => {
      try {
        const fresh = await this.jobClient.get(ns, job.metadata.name!);
        return fresh.metadata.uid === job.metadata.uid && !fresh.metadata.deletionTimestamp;
      } catch (e) {
        if (gone(e)) return false;
        throw e;
      }
    });
    // An adopted pod gets the tracking finalizer too, as upstream's adoption adds it: it is counted like the others.
    const out: Pod[] = [];
    for (const pod of claimed) {
      if (hasTrackingFinalizer(pod) || own.includes(pod)) out.push(pod);
      else {
        try {
          out.push(await this.podClient.patch(ns, pod.metadata.name!, { metadata: { finalizers: [JOB_TRACKING_FINALIZER] } }, "strategic"));
        } catch (e) {
          if (!gone(e)) throw e;
        }
      }
    }
    return out;
  }

  private async createPods(job: Job, key: string, what: { index?: number; indexFailures?: number; indexIgnoredFailures?: number }[]): Promise<{ count: number; error?: unknown }> {
    this.expectations.expectCreations(key, what.length);
    let next = 0;
    const { successes, error } = await slowStartBatch(what.length, 1, async () => {
      const w = what[next++]!;
      try {
        const pod = await this.podClient.create(job.metadata.namespace, podFromJob(job, w));
        this.recorder.event(job, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name}`);
      } catch (e) {
        if (e instanceof ApiError && e.code === 403 && /terminat/i.test(e.message)) return; // namespace going away
        this.recorder.event(job, "Warning", "FailedCreate", `Error creating: ${(e as Error).message}`);
        throw e;
      }
    });
    for (let i = successes; i < what.length; i++) this.expectations.creationObserved(key);
    return { count: successes, error };
  }

  private async deletePods(job: Job, key: string, victims: Pod[]): Promise<{ pods: Pod[]; length: number; error?: unknown }> {
    if (!victims.length) return { pods: [], length: 0 };
    this.expectations.expectDeletions(key, victims.map(objectKeyOf));
    const done: Pod[] = [];
    let error: unknown;
    await Promise.all(
      victims.map(async (pod) => {
        try {
          await this.podClient.delete(pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
          done.push(pod);
          this.recorder.event(job, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name}`);
        } catch (e) {
          this.expectations.deletionObserved(key, objectKeyOf(pod));
          if (gone(e)) return;
          this.recorder.event(job, "Warning", "FailedDelete", `Error deleting: ${(e as Error).message}`);
          error ??= e;
        }
      }),
    );
    return { pods: done, length: done.length, error };
  }

  /** Removes the tracking finalizer; the uids of the pods that no longer hold it. */
  private async removeFinalizers(pods: Pod[]): Promise<Set<string>> {
    const released = new Set<string>();
    const patch = { metadata: { [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] } };
    await Promise.all(
      pods.map(async (pod) => {
        try {
          const after = await this.podClient.patch(pod.metadata.namespace, pod.metadata.name!, patch, "strategic");
          released.add(pod.metadata.uid!);
          // Until the pod cache shows this version, the cached pod still carries the finalizer.
          const cached = this.podInformer.get(objectKeyOf(pod));
          if (cached && hasTrackingFinalizer(cached) && cached.metadata.resourceVersion !== after.metadata.resourceVersion) this.released.add(pod.metadata.uid!);
        } catch (e) {
          if (gone(e)) released.add(pod.metadata.uid!);
          else throw e;
        }
      }),
    );
    return released;
  }

  private async writeStatus(job: Job, status: JobStatus): Promise<Job> {
    try {
      const written = withKind(await this.jobClient.updateStatus({ ...job, status }));
      this.written.set(objectKeyOf(written), Number(written.metadata.resourceVersion));
      return written;
    } catch (e) {
      if (gone(e)) return job;
      throw e;
    }
  }
}

/** When a finished Job's ttlSecondsAfterFinished runs out. */
export function ttlExpiry(job: Job): number | undefined {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (ttl === undefined || !isFinished(job)) return undefined;
  const finished = job.status?.completionTime ?? findCondition(job.status?.conditions, "Failed")?.lastTransitionTime ?? findCondition(job.status?.conditions, "Complete")?.lastTransitionTime;
  if (!finished) return undefined;
  return Date.parse(finished) + ttl * 1000;
}
