// The controller on the in-process API server (memory store, real HTTP, its own informers, the
// real clock): Jobs created through the API, status written with optimistic concurrency, history
// trimmed, and a timer per CronJob for its next time.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { events as eventsDef } from "../../../api/resources/core/event";
import { cronJobs, type CronJob } from "../../../api/resources/batch/cronjob";
import { jobs, type Job } from "../../../api/resources/batch/job";
import { eventually, getOrUndefined, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { CronJobController, MAX_WAIT_MS } from "./controller";
import { SCHEDULED_TIMESTAMP_ANNOTATION } from "./sync";

let env: ControllerTestEnv;
let ctl: CronJobController;
beforeAll(async () => {
  env = await startControllerTestEnv();
  ctl = new CronJobController(env.client);
  await ctl.start();
});
afterAll(async () => {
  await ctl.stop();
  await env.stop();
});

const cjC = () => env.client.resource<CronJob>(cronJobs);
const jobC = () => env.client.resource<Job>(jobs);

const cronJob = (name: string, spec: Partial<NonNullable<CronJob["spec"]>>): CronJob => ({
  metadata: { name },
  spec: {
    schedule: "@every 1s",
    jobTemplate: { spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } } },
    ...spec,
  },
});

const ownedBy = (cj: CronJob) => async () => (await jobC().list("default")).items.filter((j) => j.metadata.ownerReferences?.some((r) => r.uid === cj.metadata.uid));

test("a due CronJob gets its Job through the API, its status records it, and an event says so", async () => {
  const cj = await cjC().create("default", cronJob("every-second", { concurrencyPolicy: "Forbid" }));
  const [job] = await eventually(async () => {
    const js = await ownedBy(cj)();
    return js.length ? js : undefined;
  }, "a Job of the CronJob");
  const scheduled = Date.parse(cj.metadata.creationTimestamp!) + 1000;
  expect(job!.metadata.name).toBe(`every-second-${Math.floor(scheduled / 60_000)}`);
  expect(job!.metadata.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION]).toBe(new Date(scheduled).toISOString().replace(/\.\d{3}Z$/, "Z"));
  // The API server defaulted and validated it as any Job: a generated selector, upstream's defaults.
  expect(job!.spec?.selector?.matchLabels?.["batch.kubernetes.io/controller-uid"]).toBe(job!.metadata.uid);
  expect(job!.spec?.backoffLimit).toBe(6);
  const status = await eventually(async () => {
    const got = await cjC().get("default", "every-second");
    return got.status?.active?.length ? got.status : undefined;
  }, "status.active");
  expect(status.active![0]).toMatchObject({ kind: "Job", name: job!.metadata.name, uid: job!.metadata.uid, apiVersion: "batch/v1" });
  expect(Date.parse(status.lastScheduleTime!)).toBe(scheduled);
  await eventually(async () => {
    const evs = await env.client.resource(eventsDef).list("default");
    return evs.items.some((e: any) => e.reason === "SuccessfulCreate" && e.involvedObject?.name === "every-second");
  }, "a SuccessfulCreate event");
  // Forbid: nothing more while the Job runs, but the CronJob keeps a wake-up for its next time.
  expect(ctl.pendingWakes().get("default/every-second")).toBeDefined();
});

test("finished Jobs beyond the history limit are deleted, oldest first", async () => {
  const cj = await cjC().create("default", cronJob("history", { suspend: true, successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 0 }));
  const t0 = Date.now() - 3600_000;
  const stamp = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
  for (const [i, type] of [[0, "Complete"], [1, "Complete"], [2, "Complete"], [3, "Failed"]] as const) {
    const name = `history-old-${i}`;
    await jobC().create("default", {
      metadata: { name, ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: "history", uid: cj.metadata.uid!, controller: true }] },
      spec: { managedBy: "example.com/someone-else", template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } },
    });
    const start = stamp(t0 + i * 60_000);
    const conditions = type === "Complete" ? [{ type: "SuccessCriteriaMet", status: "True" }, { type, status: "True" }] : [{ type: "FailureTarget", status: "True" }, { type, status: "True" }];
    await jobC().patch("default", name, { status: { startTime: start, ...(type === "Complete" && { completionTime: start, succeeded: 1 }), ...(type === "Failed" && { failed: 1 }), conditions } }, "merge", "status");
  }
  await eventually(async () => (await ownedBy(cj)()).length === 1, "history trimmed to one Job");
  expect((await ownedBy(cj)()).map((j) => j.metadata.name)).toEqual(["history-old-2"]);
  const status = await eventually(async () => (await cjC().get("default", "history")).status?.lastSuccessfulTime, "lastSuccessfulTime");
  expect(status).toBe(stamp(t0 + 2 * 60_000));
});

test("a CronJob far from its next time waits on a capped timer; a new schedule counts from its next time", async () => {
  await cjC().create("default", cronJob("yearly", { schedule: "0 0 1 1 *", timeZone: "Etc/UTC" }));
  const wake = await eventually(() => ctl.pendingWakes().get("default/yearly"), "a wake-up for the yearly CronJob");
  expect(wake - Date.now()).toBeLessThanOrEqual(MAX_WAIT_MS);
  expect(wake - Date.now()).toBeGreaterThan(MAX_WAIT_MS - 60_000);
  // A new schedule counts from its next time: the minute that just began is not started now.
  const before = Date.now();
  await cjC().patch("default", "yearly", { spec: { schedule: "* * * * *" } });
  const nextMinute = await eventually(() => {
    const at = ctl.pendingWakes().get("default/yearly");
    return at !== undefined && at < before + 61_000 ? at : undefined;
  }, "a wake-up at the next minute");
  expect((nextMinute - 100) % 60_000).toBe(0);
  const cj = await cjC().patch("default", "yearly", { spec: { schedule: "@every 1s" } });
  await eventually(async () => (await ownedBy(cj)()).length > 0, "a Job soon after the schedule changed");
});

test("deleting a CronJob drops its timer", async () => {
  await cjC().delete("default", "yearly");
  await eventually(() => !ctl.pendingWakes().has("default/yearly"), "no wake-up left");
  expect(await getOrUndefined(cjC().get("default", "yearly"))).toBeUndefined();
});
