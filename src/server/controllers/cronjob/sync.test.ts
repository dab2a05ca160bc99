// The CronJob rules against a fake cluster: Jobs in a map, events in a list, a clock the test
// moves. Each `sync` runs what one reconcile runs (history cleanup, then the sync) and keeps the
// status it would write, as the controller does.
import { beforeAll, describe, expect, test } from "bun:test";
import { ApiError } from "../../../api/errors";
import { cronJobs, type CronJob } from "../../../api/resources/batch/cronjob";
import type { Job } from "../../../api/resources/batch/job";
import { loadCalendar } from "./schedule";
import { cleanupFinishedJobs, jobNameFor, rfc3339In, SCHEDULED_TIMESTAMP_ANNOTATION, syncCronJob, type CronJobActions } from "./sync";

beforeAll(loadCalendar);

const at = (iso: string) => Date.parse(iso);
const stamp = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");

class FakeCluster implements CronJobActions {
  jobs = new Map<string, Job>();
  events: { reason: string; message: string; type: string }[] = [];
  clock = 0;
  cronJob!: CronJob;
  private uids = 0;
  failCreate?: ApiError;

  now = () => this.clock;
  getCronJob = async () => structuredClone(this.cronJob);
  getJob = async (_ns: string, name: string) => structuredClone(this.jobs.get(name));
  createJob = async (_ns: string, job: Job) => {
    if (this.failCreate) throw this.failCreate;
    if (this.jobs.has(job.metadata.name!)) throw new ApiError(409, "AlreadyExists", `jobs.batch "${job.metadata.name}" already exists`);
    const created = structuredClone(job);
    created.metadata.uid = `job-uid-${++this.uids}`;
    created.metadata.resourceVersion = String(this.uids);
    created.metadata.creationTimestamp = stamp(this.clock);
    this.jobs.set(job.metadata.name!, created);
    return structuredClone(created);
  };
  deleteJob = async (_ns: string, name: string) => void this.jobs.delete(name);
  event = (_cj: CronJob, type: string, reason: string, message: string) => void this.events.push({ type, reason, message });

  reasons = () => this.events.map((e) => e.reason);

  /** One reconcile: cleanup, sync, and the status written back. */
  async sync() {
    const cj = structuredClone(this.cronJob);
    const jobs = [...this.jobs.values()].map((j) => structuredClone(j));
    await cleanupFinishedJobs(cj, jobs, this);
    const result = await syncCronJob(cj, jobs, this);
    this.cronJob.status = cj.status;
    return result;
  }

  finish(name: string, type: "Complete" | "Failed", startTime: number, completionTime: number) {
    const job = this.jobs.get(name)!;
    job.status = {
      startTime: stamp(startTime),
      ...(type === "Complete" && { completionTime: stamp(completionTime) }),
      conditions: [{ type, status: "True" }],
    };
  }

  /** A Job of the CronJob made outside the sync (history tests). */
  addJob(name: string, status?: Job["status"]) {
    const cj = this.cronJob;
    this.jobs.set(name, {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name, namespace: "default", uid: `uid-${name}`, ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: cj.metadata.name!, uid: cj.metadata.uid!, controller: true }] },
      spec: { template: {} },
      status,
    });
  }
}

function cronJob(spec: Partial<NonNullable<CronJob["spec"]>>, createdAt: string): CronJob {
  const cj: CronJob = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "backup", namespace: "default", uid: "cj-uid", resourceVersion: "1", creationTimestamp: createdAt },
    spec: {
      schedule: "*/5 * * * *",
      timeZone: "UTC",
      jobTemplate: {
        metadata: { labels: { app: "backup" }, annotations: { team: "ops" } },
        spec: { template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "c", image: "busybox" }] } } },
      },
      ...spec,
    },
  };
  cronJobs.defaults(cj);
  return cj;
}

function cluster(spec: Partial<NonNullable<CronJob["spec"]>> = {}, createdAt = "2026-01-01T10:00:30Z") {
  const c = new FakeCluster();
  c.cronJob = cronJob(spec, createdAt);
  return c;
}

describe("starting Jobs on schedule", () => {
  test("nothing before the first scheduled time, then one Job named for the time, then a wake-up for the next", async () => {
    const c = cluster();
    c.clock = at("2026-01-01T10:03:00Z");
    expect(await c.sync()).toEqual({ updateStatus: false, requeueAfterMs: 2 * 60_000 + 100 });
    expect(c.jobs.size).toBe(0);

    c.clock = at("2026-01-01T10:05:00.100Z");
    const r = await c.sync();
    expect(r).toEqual({ updateStatus: true, requeueAfterMs: 5 * 60_000 });
    const name = `backup-${at("2026-01-01T10:05:00Z") / 60_000}`;
    expect([...c.jobs.keys()]).toEqual([name]);
    const job = c.jobs.get(name)!;
    expect(job.metadata.labels).toEqual({ app: "backup" });
    expect(job.metadata.annotations).toEqual({ team: "ops", [SCHEDULED_TIMESTAMP_ANNOTATION]: "2026-01-01T10:05:00Z" });
    expect(job.metadata.ownerReferences).toEqual([{ apiVersion: "batch/v1", kind: "CronJob", name: "backup", uid: "cj-uid", controller: true, blockOwnerDeletion: true }]);
    expect(job.spec?.template.spec?.containers[0]?.image).toBe("busybox");
    expect(c.cronJob.status).toEqual({
      active: [{ kind: "Job", namespace: "default", name, uid: job.metadata.uid, apiVersion: "batch/v1", resourceVersion: job.metadata.resourceVersion }],
      lastScheduleTime: "2026-01-01T10:05:00Z",
    });
    expect(c.events).toEqual([{ type: "Normal", reason: "SuccessfulCreate", message: `Created job ${name}` }]);

    // The same time again (a duplicate wake-up, an event): no second Job.
    expect(await c.sync()).toEqual({ updateStatus: false, requeueAfterMs: 5 * 60_000 });
    expect(c.jobs.size).toBe(1);
  });

  test("after a restart only the most recent missed time gets a Job", async () => {
    const c = cluster();
    c.clock = at("2026-01-01T10:05:01Z");
    await c.sync();
    c.finish(jobNameFor(c.cronJob, at("2026-01-01T10:05:00Z")), "Complete", at("2026-01-01T10:05:01Z"), at("2026-01-01T10:05:10Z"));
    // The server was down from 10:06 to 10:32: 10:10 ... 10:30 were missed.
    c.clock = at("2026-01-01T10:32:00Z");
    const r = await c.sync();
    expect([...c.jobs.keys()].sort()).toEqual([jobNameFor(c.cronJob, at("2026-01-01T10:05:00Z")), jobNameFor(c.cronJob, at("2026-01-01T10:30:00Z"))].sort());
    expect(c.cronJob.status?.lastScheduleTime).toBe("2026-01-01T10:30:00Z");
    expect(c.cronJob.status?.lastSuccessfulTime).toBe("2026-01-01T10:05:10Z");
    expect(r.requeueAfterMs).toBe(3 * 60_000 + 100);
    expect(c.reasons()).toEqual(["SuccessfulCreate", "SawCompletedJob", "SuccessfulCreate"]);
    expect(c.reasons()).not.toContain("TooManyMissedTimes");
  });

  test("more than 100 missed times: a warning, and still only the most recent", async () => {
    const c = cluster({ schedule: "* * * * *" });
    c.clock = at("2026-01-03T00:00:30Z");
    await c.sync();
    expect(c.jobs.size).toBe(1);
    expect(c.cronJob.status?.lastScheduleTime).toBe("2026-01-03T00:00:00Z");
    expect(c.events[0]).toEqual({
      type: "Warning",
      reason: "TooManyMissedTimes",
      message: "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
    });
  });

  test("a time missed by more than startingDeadlineSeconds is skipped", async () => {
    const c = cluster({ startingDeadlineSeconds: 30 });
    c.clock = at("2026-01-01T10:06:00Z");
    const r = await c.sync();
    expect(c.jobs.size).toBe(0);
    expect(r.requeueAfterMs).toBe(4 * 60_000 + 100);
    // Within the deadline of the next time, it starts.
    c.clock = at("2026-01-01T10:10:20Z");
    await c.sync();
    expect(c.jobs.size).toBe(1);
  });

  test("a Job created just before a restart (status not written) is recorded, not created again", async () => {
    const c = cluster();
    c.clock = at("2026-01-01T10:05:01Z");
    const saved = structuredClone(c.cronJob);
    await c.sync();
    c.cronJob = saved; // the status write was lost
    await c.sync();
    expect(c.jobs.size).toBe(1);
    expect(c.cronJob.status?.active?.length).toBe(1);
    expect(c.cronJob.status?.lastScheduleTime).toBe("2026-01-01T10:05:00Z");
    expect(c.reasons()).toEqual(["SuccessfulCreate", "UnexpectedJob"]);
  });

  test("someone else's Job with the name is left alone", async () => {
    const c = cluster();
    c.clock = at("2026-01-01T10:05:01Z");
    const name = jobNameFor(c.cronJob, at("2026-01-01T10:05:00Z"));
    c.jobs.set(name, { apiVersion: "batch/v1", kind: "Job", metadata: { name, namespace: "default", uid: "other" }, spec: { template: {} } });
    const r = await c.sync();
    expect(r).toEqual({ updateStatus: false, requeueAfterMs: 5 * 60_000 - 1000 + 100 });
    expect(c.cronJob.status?.active ?? []).toEqual([]);
  });

  test("a create that fails is reported and retried", async () => {
    const c = cluster();
    c.clock = at("2026-01-01T10:05:01Z");
    c.failCreate = new ApiError(422, "Invalid", 'Job.batch "backup-29433965" is invalid');
    await expect(c.sync()).rejects.toThrow("is invalid");
    expect(c.events).toEqual([{ type: "Warning", reason: "FailedCreate", message: 'Error creating job: Job.batch "backup-29433965" is invalid' }]);
  });

  test("suspended: nothing starts and nothing is scheduled; resumed: the missed time starts", async () => {
    const c = cluster({ suspend: true });
    c.clock = at("2026-01-01T10:05:01Z");
    expect(await c.sync()).toEqual({ updateStatus: false });
    c.cronJob.spec!.suspend = false;
    await c.sync();
    expect(c.jobs.size).toBe(1);
  });
});

describe("concurrency policy", () => {
  async function withRunningJob(policy: string) {
    const c = cluster({ concurrencyPolicy: policy });
    c.clock = at("2026-01-01T10:05:01Z");
    await c.sync();
    c.clock = at("2026-01-01T10:10:01Z");
    await c.sync();
    return c;
  }

  test("Allow: Jobs overlap", async () => {
    const c = await withRunningJob("Allow");
    expect(c.jobs.size).toBe(2);
    expect(c.cronJob.status?.active?.length).toBe(2);
  });

  test("Forbid: the next run waits while one is active", async () => {
    const c = await withRunningJob("Forbid");
    expect(c.jobs.size).toBe(1);
    expect(c.events.at(-1)).toEqual({ type: "Normal", reason: "JobAlreadyActive", message: "Not starting job because prior execution is running and concurrency policy is Forbid" });
    // When the running one finishes, the pending time starts (no deadline set).
    c.finish(jobNameFor(c.cronJob, at("2026-01-01T10:05:00Z")), "Complete", at("2026-01-01T10:05:01Z"), at("2026-01-01T10:10:30Z"));
    c.clock = at("2026-01-01T10:10:31Z");
    await c.sync();
    expect(c.jobs.has(jobNameFor(c.cronJob, at("2026-01-01T10:10:00Z")))).toBe(true);
  });

  test("Replace: the running one is deleted for the new one", async () => {
    const c = await withRunningJob("Replace");
    expect([...c.jobs.keys()]).toEqual([jobNameFor(c.cronJob, at("2026-01-01T10:10:00Z"))]);
    expect(c.cronJob.status?.active?.map((r) => r.name)).toEqual([jobNameFor(c.cronJob, at("2026-01-01T10:10:00Z"))]);
    expect(c.reasons()).toEqual(["SuccessfulCreate", "SuccessfulDelete", "SuccessfulCreate"]);
  });
});

describe("status and history", () => {
  test("finished Jobs leave status.active; lastSuccessfulTime follows the latest success", async () => {
    const c = cluster();
    c.clock = at("2026-01-01T10:05:01Z");
    await c.sync();
    const name = jobNameFor(c.cronJob, at("2026-01-01T10:05:00Z"));
    c.finish(name, "Complete", at("2026-01-01T10:05:01Z"), at("2026-01-01T10:06:00Z"));
    c.clock = at("2026-01-01T10:06:01Z");
    const r = await c.sync();
    expect(r.updateStatus).toBe(true);
    expect(c.cronJob.status?.active).toEqual([]);
    expect(c.cronJob.status?.lastSuccessfulTime).toBe("2026-01-01T10:06:00Z");
    expect(c.events.at(-1)).toEqual({ type: "Normal", reason: "SawCompletedJob", message: `Saw completed job: ${name}, condition: Complete` });
  });

  test("an active Job that disappeared is dropped", async () => {
    const c = cluster();
    c.clock = at("2026-01-01T10:05:01Z");
    await c.sync();
    c.jobs.clear();
    await c.sync();
    expect(c.cronJob.status?.active).toEqual([]);
    expect(c.reasons().at(-1)).toBe("MissingJob");
  });

  test("the oldest finished Jobs beyond the limits are deleted, successes and failures counted apart", async () => {
    const c = cluster({ successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 1 });
    const t0 = at("2026-01-01T09:00:00Z");
    for (let i = 0; i < 4; i++)
      c.addJob(`ok-${i}`, { startTime: stamp(t0 + i * 60_000), completionTime: stamp(t0 + i * 60_000 + 5000), conditions: [{ type: "Complete", status: "True" }] });
    for (let i = 0; i < 3; i++) c.addJob(`bad-${i}`, { startTime: stamp(t0 + i * 60_000), conditions: [{ type: "Failed", status: "True" }] });
    c.addJob("running", { startTime: stamp(t0) });
    c.cronJob.status = { active: [{ kind: "Job", namespace: "default", name: "running", uid: "uid-running", apiVersion: "batch/v1" }] };
    c.clock = at("2026-01-01T10:01:00Z");
    await c.sync();
    expect([...c.jobs.keys()].sort()).toEqual(["bad-2", "ok-2", "ok-3", "running"]);
    expect(c.events.filter((e) => e.reason === "SuccessfulDelete").map((e) => e.message)).toEqual([
      "Deleted job ok-0",
      "Deleted job ok-1",
      "Deleted job bad-0",
      "Deleted job bad-1",
    ]);
    expect(c.cronJob.status?.lastSuccessfulTime).toBe(stamp(t0 + 3 * 60_000 + 5000));
  });

  test("limits of zero keep no finished Job", async () => {
    const c = cluster({ successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 0 });
    c.addJob("ok", { startTime: stamp(0), completionTime: stamp(1000), conditions: [{ type: "Complete", status: "True" }] });
    c.addJob("bad", { startTime: stamp(0), conditions: [{ type: "Failed", status: "True" }] });
    c.clock = at("2026-01-01T10:01:00Z");
    await c.sync();
    expect(c.jobs.size).toBe(0);
  });
});

describe("time zones and bad schedules", () => {
  test("runs in spec.timeZone; the annotation carries the zone's offset", async () => {
    const c = cluster({ schedule: "0 9 * * *", timeZone: "Europe/Berlin" });
    c.clock = at("2026-01-02T08:00:00.100Z"); // 09:00 in Berlin
    await c.sync();
    const [job] = [...c.jobs.values()];
    expect(job?.metadata.name).toBe(`backup-${at("2026-01-02T08:00:00Z") / 60_000}`);
    expect(job?.metadata.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION]).toBe("2026-01-02T09:00:00+01:00");
  });

  test("daylight saving: 02:30 on the day that skips it runs at 03:00, once", async () => {
    const c = cluster({ schedule: "30 2 * * *", timeZone: "America/New_York" }, "2026-03-07T12:00:00Z");
    c.clock = at("2026-03-08T07:00:00.100Z"); // 03:00 EDT
    await c.sync();
    expect(c.cronJob.status?.lastScheduleTime).toBe("2026-03-08T07:00:00Z");
    c.clock = at("2026-03-08T08:00:00Z");
    await c.sync();
    expect(c.jobs.size).toBe(1);
  });

  test("daylight saving: 01:30 on the day that repeats it runs once", async () => {
    const c = cluster({ schedule: "30 1 * * *", timeZone: "America/New_York" }, "2026-10-31T12:00:00Z");
    c.clock = at("2026-11-01T05:30:00.100Z"); // 01:30 EDT
    const r = await c.sync();
    expect(c.jobs.size).toBe(1);
    expect(r.requeueAfterMs).toBe(at("2026-11-02T06:30:00.100Z") - c.clock); // not 01:30 EST
    c.clock = at("2026-11-01T06:30:00.100Z"); // 01:30 EST
    await c.sync();
    expect(c.jobs.size).toBe(1);
  });

  test("a schedule that never comes is reported; so is a zone the runtime does not know", async () => {
    const never = cluster({ schedule: "0 0 30 2 *" });
    never.clock = at("2026-01-01T10:05:00Z");
    expect(await never.sync()).toEqual({ updateStatus: false });
    expect(never.events).toEqual([{ type: "Warning", reason: "InvalidSchedule", message: "invalid schedule: 0 0 30 2 * : the schedule has no next run time" }]);

    const zone = cluster({ timeZone: "Mars/Olympus" });
    zone.clock = at("2026-01-01T10:05:00Z");
    expect(await zone.sync()).toEqual({ updateStatus: false });
    expect(zone.events).toEqual([{ type: "Warning", reason: "UnknownTimeZone", message: 'invalid timeZone: "Mars/Olympus": unknown time zone Mars/Olympus' }]);
  });

  test("rfc3339In", () => {
    expect(rfc3339In(at("2026-07-01T12:00:00.700Z"), undefined)).toBe("2026-07-01T12:00:00Z");
    expect(rfc3339In(at("2026-07-01T12:00:00Z"), "America/New_York")).toBe("2026-07-01T08:00:00-04:00");
    expect(rfc3339In(at("2026-07-01T12:00:00Z"), "Asia/Kolkata")).toBe("2026-07-01T17:30:00+05:30");
    expect(rfc3339In(at("2026-07-01T12:00:00Z"), "Etc/UTC")).toBe("2026-07-01T12:00:00Z");
  });
});
