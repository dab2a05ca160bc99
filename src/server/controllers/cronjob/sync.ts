// One reconcile of a CronJob, as upstream's cronjob_controllerv2 does it: trim the finished Jobs
// beyond the history limits, bring status.active in line with the Jobs that exist, then start
// the Job owed for the most recent scheduled time (honouring suspend, startingDeadlineSeconds
// and concurrencyPolicy) and say when the next one is due. Everything outside (the API, the
// clock, events) comes in through CronJobActions, so the rules are tested without a server.
import { ApiError } from "../../../api/errors";
import type { CronJob, CronJobStatus } from "../../../api/resources/batch/cronjob";
import { isKnownTimeZone, ScheduleError } from "../../../api/resources/batch/cron";
import type { Job } from "../../../api/resources/batch/job";
import type { EventType } from "../../../client/events";
import { controllerRefTo } from "../ownership";
import { controllerRefOf } from "../podutil";
import { compileSchedule, type Schedule } from "./schedule";
import { InvalidScheduleError, mostRecentScheduleTime, nextScheduleDelay, type ScheduleAnchor } from "./times";

/** The annotation on each Job with the time it was scheduled for (RFC 3339, in the CronJob's zone). */
export const SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp";

export interface CronJobActions {
  now(): number;
  /** The CronJob as the API server has it now (not the cache). */
  getCronJob(namespace: string, name: string): Promise<CronJob>;
  /** The Job from the API server; undefined when it does not exist. */
  getJob(namespace: string, name: string): Promise<Job | undefined>;
  createJob(namespace: string, job: Job): Promise<Job>;
  /** Deletes the Job, its pods in the background. */
  deleteJob(namespace: string, name: string): Promise<void>;
  event(cj: CronJob, type: EventType, reason: string, message: string): void;
}

export interface SyncResult {
  /** When to look again, in ms from now; undefined when only a change can make a difference. */
  requeueAfterMs?: number;
  /** The CronJob's status changed and must be written. */
  updateStatus: boolean;
}

const isFinished = (job: Job) => job.status?.conditions?.find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True")?.type;
const inActiveList = (cj: CronJob, uid: string | undefined) => cj.status?.active?.some((r) => r.uid === uid) ?? false;
const time = (t: string | undefined) => (t ? Date.parse(t) : undefined);
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

function deleteFromActiveList(cj: CronJob, uid: string | undefined) {
  if (cj.status?.active) cj.status.active = cj.status.active.filter((r) => r.uid !== uid);
}

/** Deletes a Job of the CronJob and drops it from status.active; false (and an event) when the delete fails. */
async function deleteJob(cj: CronJob, job: Job, actions: CronJobActions): Promise<boolean> {
  try {
    await actions.deleteJob(job.metadata.namespace!, job.metadata.name!);
  } catch (e) {
    actions.event(cj, "Warning", "FailedDelete", `Deleted job: ${errorText(e)}`);
    return false;
  }
  deleteFromActiveList(cj, job.metadata.uid);
  actions.event(cj, "Normal", "SuccessfulDelete", `Deleted job ${job.metadata.name}`);
  return true;
}

/** Oldest first by status.startTime (Jobs that never started last), then by name. */
function byStartTime(a: Job, b: Job): number {
  const ta = time(a.status?.startTime);
  const tb = time(b.status?.startTime);
  if (ta === undefined && tb !== undefined) return 1;
  if (ta !== undefined && tb === undefined) return -1;
  if (ta === tb) return (a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : (a.metadata.name ?? "") > (b.metadata.name ?? "") ? 1 : 0;
  return ta! - tb!;
}

async function removeOldestJobs(cj: CronJob, jobs: Job[], keep: number, actions: CronJobActions): Promise<boolean> {
  const excess = jobs.length - keep;
  if (excess <= 0) return false;
  let changed = false;
  for (const job of [...jobs].sort(byStartTime).slice(0, excess)) if (await deleteJob(cj, job, actions)) changed = true;
  return changed;
}

/** Deletes the oldest finished Jobs beyond successfulJobsHistoryLimit and failedJobsHistoryLimit. */
export async function cleanupFinishedJobs(cj: CronJob, jobs: Job[], actions: CronJobActions): Promise<boolean> {
  const spec = cj.spec!;
  if (spec.successfulJobsHistoryLimit === undefined && spec.failedJobsHistoryLimit === undefined) return false;
  const succeeded = jobs.filter((j) => isFinished(j) === "Complete");
  const failed = jobs.filter((j) => isFinished(j) === "Failed");
  let changed = false;
  if (spec.successfulJobsHistoryLimit !== undefined && (await removeOldestJobs(cj, succeeded, spec.successfulJobsHistoryLimit, actions))) changed = true;
  if (spec.failedJobsHistoryLimit !== undefined && (await removeOldestJobs(cj, failed, spec.failedJobsHistoryLimit, actions))) changed = true;
  return changed;
}

/** The name of the Job for a scheduled time: "<cronjob>-<minutes since the epoch>". */
export const jobNameFor = (cj: CronJob, scheduledTime: number) => `${cj.metadata.name}-${Math.floor(scheduledTime / 60_000)}`;

/** Go's time.RFC1123Z, in UTC, as upstream's MissSchedule message prints the time. */
const rfc1123z = (t: number) => new Date(t).toUTCString().replace(/GMT$/, "+0000");

/** RFC 3339 to the second in a zone ("Z" for UTC), as Go's time.Format(time.RFC3339). */
export function rfc3339In(t: number, zone: string | undefined): string {
  const utc = new Date(Math.floor(t / 1000) * 1000);
  if (!zone || zone === "UTC") return utc.toISOString().replace(/\.\d{3}Z$/, "Z");
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
      .formatToParts(utc)
      .map((p) => [p.type, p.value]),
  );
  const wall = Date.UTC(+parts.year!, +parts.month! - 1, +parts.day!, +parts.hour!, +parts.minute!, +parts.second!);
  const offsetMin = Math.round((wall - utc.getTime()) / 60_000);
  if (offsetMin === 0) return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}Z`;
  const sign = offsetMin < 0 ? "-" : "+";
  const abs = Math.abs(offsetMin);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The Job a CronJob starts for a scheduled time (upstream's getJobFromTemplate2). */
export function jobFromTemplate(cj: CronJob, scheduledTime: number): Job {
  const template = cj.spec!.jobTemplate;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: jobNameFor(cj, scheduledTime),
      namespace: cj.metadata.namespace,
      labels: { ...template?.metadata?.labels },
      annotations: { ...template?.metadata?.annotations, [SCHEDULED_TIMESTAMP_ANNOTATION]: rfc3339In(scheduledTime, cj.spec!.timeZone) },
      ownerReferences: [controllerRefTo({ apiVersion: "batch/v1", kind: "CronJob", obj: cj })],
    },
    spec: structuredClone(template?.spec) as Job["spec"],
  };
}

const referenceTo = (job: Job): NonNullable<CronJobStatus["active"]>[number] => ({
  kind: "Job",
  namespace: job.metadata.namespace,
  name: job.metadata.name,
  uid: job.metadata.uid,
  apiVersion: "batch/v1",
  resourceVersion: job.metadata.resourceVersion,
});

export const anchorOf = (cj: CronJob): ScheduleAnchor => ({
  createdAt: Date.parse(cj.metadata.creationTimestamp!),
  lastScheduleTime: time(cj.status?.lastScheduleTime),
  startingDeadlineSeconds: cj.spec?.startingDeadlineSeconds,
});

const isNamespaceTerminating = (e: unknown) => e instanceof ApiError && e.code === 403 && /because it is being terminated/.test(e.message);

/**
 * Reconciles `cj` (a copy, changed in place: its status is what should be written when
 * updateStatus is set) with the Jobs it controls.
 */
export async function syncCronJob(cj: CronJob, jobs: Job[], actions: CronJobActions): Promise<SyncResult> {
  const now = actions.now();
  let updateStatus = false;
  const ns = cj.metadata.namespace!;
  cj.status ??= {};

  const children = new Set<string>();
  for (const job of jobs) {
    children.add(job.metadata.uid!);
    const found = inActiveList(cj, job.metadata.uid);
    const finished = isFinished(job);
    if (!found && !finished) {
      // Created by us just before a restart (status not yet written), or by someone else: the
      // API's copy of the CronJob may know it already.
      const fresh = await actions.getCronJob(ns, cj.metadata.name!);
      if (inActiveList(fresh, job.metadata.uid)) {
        cj.status.active = fresh.status?.active;
        continue;
      }
      actions.event(cj, "Warning", "UnexpectedJob", `Saw a job that the controller did not create or forgot: ${job.metadata.name}`);
    } else if (finished) {
      if (found) {
        deleteFromActiveList(cj, job.metadata.uid);
        actions.event(cj, "Normal", "SawCompletedJob", `Saw completed job: ${job.metadata.name}, condition: ${finished}`);
        updateStatus = true;
      }
      const completed = time(job.status?.completionTime);
      if (finished === "Complete" && completed !== undefined) {
        const last = time(cj.status.lastSuccessfulTime);
        if (last === undefined || completed > last) {
          cj.status.lastSuccessfulTime = job.status!.completionTime;
          updateStatus = true;
        }
      }
    }
  }

  // Active Jobs that no longer exist (asked of the API: the cache may only be late).
  for (const ref of [...(cj.status.active ?? [])]) {
    if (children.has(ref.uid!)) continue;
    if ((await actions.getJob(ref.namespace ?? ns, ref.name!)) === undefined) {
      actions.event(cj, "Normal", "MissingJob", `Active job went missing: ${ref.name}`);
      deleteFromActiveList(cj, ref.uid);
      updateStatus = true;
    }
  }

  if (cj.metadata.deletionTimestamp) return { updateStatus };

  const spec = cj.spec!;
  const zone = spec.timeZone;
  if (zone !== undefined && !isKnownTimeZone(zone)) {
    actions.event(cj, "Warning", "UnknownTimeZone", `invalid timeZone: ${JSON.stringify(zone)}: unknown time zone ${zone}`);
    return { updateStatus };
  }
  if (spec.suspend) return { updateStatus };

  if (spec.schedule.includes("TZ"))
    actions.event(
      cj,
      "Warning",
      "UnsupportedSchedule",
      `CRON_TZ or TZ used in schedule ${JSON.stringify(spec.schedule)} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`,
    );
  let schedule: Schedule;
  try {
    schedule = compileSchedule(spec.schedule, zone);
  } catch (e) {
    if (!(e instanceof ScheduleError) && !(e instanceof RangeError)) throw e;
    actions.event(cj, "Warning", "UnparseableSchedule", `unparseable schedule: ${JSON.stringify(spec.schedule)} : ${e.message}`);
    return { updateStatus };
  }

  const anchor = anchorOf(cj);
  const requeue = () => {
    const ms = nextScheduleDelay(anchorOf(cj), now, schedule);
    return { updateStatus, ...(ms !== null && { requeueAfterMs: ms }) };
  };

  let scheduled: number | null;
  try {
    const recent = mostRecentScheduleTime(anchor, now, schedule, true);
    scheduled = recent.mostRecent;
    if (scheduled !== null && recent.tooManyMissed)
      actions.event(cj, "Warning", "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew");
  } catch (e) {
    if (!(e instanceof InvalidScheduleError)) throw e;
    actions.event(cj, "Warning", "InvalidSchedule", `invalid schedule: ${spec.schedule} : ${e.message}`);
    return { updateStatus };
  }
  if (scheduled === null) return requeue(); // nothing due: wait for the next time

  // Times older than the deadline were not even looked at (above); this catches the edge.
  if (spec.startingDeadlineSeconds !== undefined && scheduled + spec.startingDeadlineSeconds * 1000 < now) {
    actions.event(cj, "Warning", "MissSchedule", `Missed scheduled time to start a job: ${rfc1123z(scheduled)}`);
    return requeue();
  }

  const name = jobNameFor(cj, scheduled);
  if (cj.status.active?.some((r) => r.name === name && r.namespace === ns) || anchor.lastScheduleTime === scheduled) return requeue();

  const active = cj.status.active ?? [];
  if (spec.concurrencyPolicy === "Forbid" && active.length > 0) {
    actions.event(cj, "Normal", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid");
    return requeue();
  }
  if (spec.concurrencyPolicy === "Replace") {
    for (const ref of [...active]) {
      let job: Job | undefined;
      try {
        job = await actions.getJob(ref.namespace ?? ns, ref.name!);
        if (!job) throw new ApiError(404, "NotFound", `jobs.batch "${ref.name}" not found`);
      } catch (e) {
        actions.event(cj, "Warning", "FailedGet", `Get job: ${errorText(e)}`);
        throw e;
      }
      if (!(await deleteJob(cj, job, actions))) throw new Error(`could not replace job ${job.metadata.namespace}/${job.metadata.name}`);
      updateStatus = true;
    }
  }

  let created: Job;
  try {
    created = await actions.createJob(ns, jobFromTemplate(cj, scheduled));
    actions.event(cj, "Normal", "SuccessfulCreate", `Created job ${created.metadata.name}`);
  } catch (e) {
    if (isNamespaceTerminating(e)) throw e; // nothing can be created there any more
    if (!(e instanceof ApiError && e.code === 409 && e.reason === "AlreadyExists")) {
      actions.event(cj, "Warning", "FailedCreate", `Error creating job: ${errorText(e)}`);
      throw e;
    }
    // Ours from before a restart, its status not written yet: record it now. Someone else's,
    // or ours and recorded: leave it, and look again at the next time.
    const existing = await actions.getJob(ns, name);
    if (!existing) throw e;
    if (controllerRefOf(existing)?.uid !== cj.metadata.uid || inActiveList(cj, existing.metadata.uid)) return requeue();
    created = existing;
  }
  (cj.status.active ??= []).push(referenceTo(created));
  cj.status.lastScheduleTime = new Date(scheduled).toISOString().replace(/\.\d{3}Z$/, "Z");
  updateStatus = true;
  return requeue();
}
