// The CronJob controller: informer handlers enqueue the CronJob a change concerns (the CronJob
// itself, or a Job it controls); a sync (sync.ts) trims history, reconciles status.active and
// starts the Job owed for the most recent scheduled time; then a timer brings the CronJob back
// when its next scheduled time is due. Nothing polls: between scheduled times a CronJob costs
// one timer.
import { ApiError } from "../../../api/errors";
import { KINDS } from "../../../api/kinds";
import { cronJobs as cronJobsDef, type CronJob } from "../../../api/resources/batch/cronjob";
import { jobs as jobsDef, type Job } from "../../../api/resources/batch/job";
import type { KubeClient, ResourceClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { Informer, objectKeyOf, type InformerHandlers } from "../../../client/informer";
import { ControlLoop, type ReconcileResult, type Reconciler } from "../../../machinery/controlloop";
import type { SharedInformers } from "../informers";
import { ControllerIndex } from "../nsindex";
import { controllerRefOf } from "../podutil";
import { compileSchedule, loadCalendar } from "./schedule";
import { anchorOf, cleanupFinishedJobs, syncCronJob, type CronJobActions, type SyncResult } from "./sync";
import { nextScheduleDelay } from "./times";

/**
 * The longest a CronJob waits on one timer. Timers count monotonic time while schedules are in
 * wall-clock time: a clock set forward (a Raspberry Pi without a real-time clock syncing NTP
 * after boot, a host resumed from suspend) would otherwise hold a due run back until the old
 * timer fires. It also keeps delays within what setTimeout accepts (24.8 days).
 */
export const MAX_WAIT_MS = 10 * 60_000;

export interface CronJobControllerOptions {
  /** The controller manager's caches: Jobs and CronJobs then have one watch and one copy. */
  informers?: SharedInformers;
  workers?: number;
  /** The clock (ms since the epoch); tests move it. */
  now?: () => number;
}

const withKind = (cj: CronJob): CronJob => ({ ...structuredClone(cj), apiVersion: "batch/v1", kind: "CronJob" });

export class CronJobController implements Reconciler {
  readonly name = "cronjob-controller";
  readonly loop: ControlLoop;
  private readonly cronJobClient: ResourceClient<CronJob>;
  private readonly jobClient: ResourceClient<Job>;
  private readonly cronJobInformer: Informer<CronJob>;
  private readonly jobInformer: Informer<Job>;
  private readonly jobsByController: ControllerIndex<Job>;
  private readonly recorder: EventRecorder;
  private readonly shared?: SharedInformers;
  private readonly now: () => number;
  /** The pending wake-up of each CronJob: when, and its timer. */
  private readonly wakes = new Map<string, { at: number; timer: Timer }>();
  private stopped = false;

  constructor(client: KubeClient, opts: CronJobControllerOptions = {}) {
    const { informers, workers = 2, now = Date.now } = opts;
    this.shared = informers;
    this.now = now;
    this.cronJobClient = client.resource<CronJob>(cronJobsDef);
    this.jobClient = client.resource<Job>(jobsDef);
    this.cronJobInformer = informers ? informers.get<CronJob>(KINDS.cronJobs) : new Informer(this.cronJobClient);
    this.jobInformer = informers ? informers.get<Job>(KINDS.jobs) : new Informer(this.jobClient);
    this.jobsByController = ControllerIndex.of(this.jobInformer, informers);
    this.recorder = new EventRecorder(client, "cronjob-controller");
    this.loop = new ControlLoop(this, workers);
    this.on(this.cronJobInformer, {
      add: (cj) => this.loop.enqueue(objectKeyOf(cj)),
      update: (old, cj) => {
        // A new schedule counts from its next time, as upstream: editing a daily CronJob to run
        // hourly does not start the hour that just passed.
        if (old.spec?.schedule !== cj.spec?.schedule || old.spec?.timeZone !== cj.spec?.timeZone) void this.wakeAtNextTime(cj);
        else this.loop.enqueue(objectKeyOf(cj));
      },
      delete: (cj) => this.loop.enqueue(objectKeyOf(cj)),
    });
    this.on(this.jobInformer, {
      add: (job) => this.enqueueOwner(job),
      update: (old, job) => {
        if (old.metadata.resourceVersion === job.metadata.resourceVersion) return;
        const was = controllerRefOf(old);
        if (was?.uid !== controllerRefOf(job)?.uid) this.enqueueOwner(old);
        this.enqueueOwner(job);
      },
      delete: (job) => this.enqueueOwner(job),
    });
  }

  private on<T extends CronJob | Job>(inf: Informer<T>, h: InformerHandlers<T>) {
    if (this.shared) this.shared.on(inf, h);
    else inf.on(h);
  }

  async start() {
    if (this.shared) await Promise.all([this.shared.start(this.cronJobInformer), this.shared.start(this.jobInformer)]);
    else await Promise.all([this.cronJobInformer.start(), this.jobInformer.start()]);
    this.loop.start();
  }

  async stop() {
    this.stopped = true;
    for (const w of this.wakes.values()) clearTimeout(w.timer);
    this.wakes.clear();
    if (!this.shared) {
      this.cronJobInformer.stop();
      this.jobInformer.stop();
    }
    await this.loop.stop();
  }

  /** When each CronJob is due to be looked at again (ms since the epoch), for tests and debugging. */
  pendingWakes(): Map<string, number> {
    return new Map([...this.wakes].map(([k, w]) => [k, w.at]));
  }

  /** The CronJob controlling a Job, if it is one we know (same name and uid). */
  private enqueueOwner(job: Job) {
    const ref = controllerRefOf(job);
    if (ref?.kind !== "CronJob") return;
    const key = `${job.metadata.namespace}/${ref.name}`;
    if (this.cronJobInformer.get(key)?.metadata.uid === ref.uid) this.loop.enqueue(key);
  }

  /** Brings the key back `ms` after `from` (at most MAX_WAIT_MS), unless a wake-up is due sooner already. */
  private wakeIn(key: string, ms: number, from = this.now()) {
    if (this.stopped) return;
    const wait = Math.max(0, Math.min(ms, MAX_WAIT_MS));
    const at = from + wait;
    const pending = this.wakes.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.wakes.delete(key);
      this.loop.enqueue(key);
    }, wait);
    this.wakes.set(key, { at, timer });
  }

  /** Wakes the CronJob at the next time of its (new) schedule; one that does not compile is synced now, to report it. */
  private async wakeAtNextTime(cj: CronJob) {
    const key = objectKeyOf(cj);
    try {
      await loadCalendar();
      const now = this.now();
      const delay = nextScheduleDelay(anchorOf(cj), now, compileSchedule(cj.spec!.schedule, cj.spec!.timeZone));
      if (delay !== null) this.wakeIn(key, delay, now);
    } catch {
      this.loop.enqueue(key);
    }
  }

  private clearWake(key: string) {
    const pending = this.wakes.get(key);
    if (pending) clearTimeout(pending.timer);
    this.wakes.delete(key);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const cached = this.cronJobInformer.get(key);
    if (!cached) return this.clearWake(key);
    await loadCalendar();
    const cj = withKind(cached);
    const jobs = this.jobsByController.controlledBy(cj.metadata.uid!).filter((j) => controllerRefOf(j)?.kind === "CronJob");
    const actions = this.actions();
    let cleaned: boolean;
    let result: SyncResult;
    try {
      cleaned = await cleanupFinishedJobs(cj, jobs, actions);
      result = await syncCronJob(cj, jobs, actions);
    } catch (e) {
      // The CronJob (or its namespace) is gone from the API: its delete event is on its way.
      if (e instanceof ApiError && e.code === 404) return this.clearWake(key);
      throw e;
    }
    if (cleaned || result.updateStatus) {
      try {
        await this.cronJobClient.updateStatus(cj);
      } catch (e) {
        if (e instanceof ApiError && e.code === 404) return this.clearWake(key);
        // Our cache is behind (often our own previous write): the newer CronJob is on its way,
        // and the sync repeats on it; the Jobs it made are found by name then.
        if (e instanceof ApiError && e.code === 409) return { requeueAfterMs: 100 };
        throw e;
      }
    }
    if (result.requeueAfterMs !== undefined) this.wakeIn(key, result.requeueAfterMs);
    else this.clearWake(key);
  }

  private actions(): CronJobActions {
    const notFoundToUndefined = (e: unknown) => {
      if (e instanceof ApiError && e.code === 404) return undefined;
      throw e;
    };
    return {
      now: this.now,
      getCronJob: (ns, name) => this.cronJobClient.get(ns, name),
      getJob: (ns, name) => this.jobClient.get(ns, name).catch(notFoundToUndefined),
      createJob: (ns, job) => this.jobClient.create(ns, job),
      deleteJob: async (ns, name) => {
        await this.jobClient.delete(ns, name, { propagationPolicy: "Background" }).catch(notFoundToUndefined);
      },
      event: (cj, type, reason, message) => this.recorder.event(cj, type, reason, message),
    };
  }
}
