// batch/v1 CronJobs against a real `bramble server`, driven by the installed kubectl. No node
// runs the pods: the test plays the kubelet and reports a Job's pod Succeeded, so the real Job
// controller completes the Job. Shown: a CronJob fires at its scheduled time (an `@every 3s`
// schedule, so no test waits for a minute boundary); after missed runs (a status that says the
// last run was long ago, as after an outage) only the most recent one starts; finished Jobs are
// trimmed to the history limit, oldest first; a server restart creates no Job twice; and
// `kubectl create job --from=cronjob/...` works.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { parseJson, startTestServer, type TestServer } from "./helpers/server";
import { eventually as poll } from "./helpers/eventually";

setDefaultTimeout(60_000);
const NS = "cron";
let s: TestServer;

const eventually = <T>(what: string, f: () => Promise<T | undefined | false>) => poll(what, f, { timeoutMs: 20_000, intervalMs: 200, context: () => s?.log.slice(-4000) ?? "" });
const kc = async (...args: string[]) => {
  const r = await s.kubectl("-n", NS, ...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const apply = (obj: object) => s.kubectlWith({ stdin: JSON.stringify(obj) }, "-n", NS, "apply", "-f", "-");
const patchStatus = (kind: string, name: string, status: object) => kc("patch", kind, name, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status }));
const stamp = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
const SCHEDULED = "batch.kubernetes.io/cronjob-scheduled-timestamp";

const podTemplate = { spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox:1.36", command: ["true"] }] } };
const cronJob = (name: string, spec: object) => ({ apiVersion: "batch/v1", kind: "CronJob", metadata: { name }, spec: { jobTemplate: { spec: { template: podTemplate } }, ...spec } });

const getJson = async (...args: string[]) => parseJson({ code: 0, stderr: "", stdout: await kc("get", ...args, "-o", "json") });
const jobsOf = async (cronJobName: string) =>
  ((await getJson("jobs")).items as any[]).filter((j) => j.metadata.ownerReferences?.some((r: any) => r.kind === "CronJob" && r.name === cronJobName));

/** What a kubelet reports when the pod's only container exited 0. */
async function podSucceeded(jobName: string) {
  const pod = await eventually(`a pod of ${jobName}`, async () => ((await getJson("pods", "-l", `batch.kubernetes.io/job-name=${jobName}`)).items as any[])[0]);
  const t = stamp(Date.now());
  await patchStatus("pod", pod.metadata.name, {
    phase: "Succeeded",
    conditions: [{ type: "Ready", status: "False", lastTransitionTime: t, reason: "PodCompleted" }],
    containerStatuses: [{ name: "main", ready: false, restartCount: 0, image: "busybox:1.36", imageID: "", state: { terminated: { exitCode: 0, reason: "Completed", startedAt: t, finishedAt: t } } }],
  });
}

beforeAll(async () => {
  s = await startTestServer({ args: ["--disable-agent"] });
  expect((await s.kubectl("create", "namespace", NS)).code).toBe(0);
}, 60_000);

afterAll(async () => {
  await s?.cleanup();
});

test("kubectl knows the kind: api-resources, the table, and upstream's validation messages", async () => {
  const resources = (await s.kubectl("api-resources", "--api-group=batch", "--no-headers")).stdout;
  expect(resources).toMatch(/^cronjobs\s+cj\s+batch\/v1\s+true\s+CronJob$/m);

  const bad = await apply(cronJob("bad", { schedule: "61 * * * *" }));
  expect(bad.stderr).toContain('spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61');
  const tz = await apply(cronJob("bad", { schedule: "TZ=Europe/Berlin 0 3 * * *" }));
  expect(tz.stderr).toContain("cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  const zone = await apply(cronJob("bad", { schedule: "0 3 * * *", timeZone: "Mars/Olympus" }));
  expect(zone.stderr).toContain('spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus');

  expect((await apply(cronJob("weekly", { schedule: "@weekly", timeZone: "Europe/Berlin", suspend: true }))).code).toBe(0);
  const table = (await kc("get", "cj")).split("\n");
  expect(table[0]!.split(/\s{2,}/)).toEqual(["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"]);
  expect(table[1]!.split(/\s+/).slice(0, 6)).toEqual(["weekly", "@weekly", "Europe/Berlin", "True", "0", "<none>"]);
  const spec = (await getJson("cronjob", "weekly")).spec;
  expect(spec).toMatchObject({ concurrencyPolicy: "Allow", successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 });
});

test("a CronJob fires at its scheduled time; kubectl create job --from=cronjob/ makes a Job of its template", async () => {
  expect((await apply(cronJob("tick", { schedule: "@every 3s", concurrencyPolicy: "Forbid" }))).code).toBe(0);
  const created = Date.parse((await getJson("cronjob", "tick")).metadata.creationTimestamp);
  const [job] = await eventually("the first Job of tick", async () => {
    const js = await jobsOf("tick");
    return js.length ? js : undefined;
  });
  await kc("patch", "cronjob", "tick", "--type=merge", "-p", '{"spec":{"suspend":true}}');
  // Due 3 s after creation (whole seconds), named for that minute, and not created before it.
  const due = created + 3000;
  expect(job.metadata.annotations[SCHEDULED]).toBe(stamp(due));
  expect(job.metadata.name).toBe(`tick-${Math.floor(due / 60_000)}`);
  expect(Date.parse(job.metadata.creationTimestamp)).toBeGreaterThanOrEqual(due);
  expect(job.metadata.ownerReferences).toEqual([{ apiVersion: "batch/v1", kind: "CronJob", name: "tick", uid: (await getJson("cronjob", "tick")).metadata.uid, controller: true, blockOwnerDeletion: true }]);
  const status = await eventually("tick's status", async () => {
    const st = (await getJson("cronjob", "tick")).status;
    return st?.active?.length ? st : undefined;
  });
  expect(status).toMatchObject({ lastScheduleTime: stamp(due), active: [{ kind: "Job", name: job.metadata.name, uid: job.metadata.uid }] });

  expect(await kc("create", "job", "tick-by-hand", "--from=cronjob/tick")).toBe("job.batch/tick-by-hand created\n");
  const manual = await getJson("job", "tick-by-hand");
  expect(manual.metadata.annotations["cronjob.kubernetes.io/instantiate"]).toBe("manual");
  expect(manual.metadata.ownerReferences[0]).toMatchObject({ kind: "CronJob", name: "tick", controller: true });
  expect(manual.spec.template.spec.containers[0]).toMatchObject({ name: "main", image: "busybox:1.36", command: ["true"] });
});

test("after missed runs only the latest starts; finished Jobs are trimmed to the limit; a restart creates nothing twice", async () => {
  expect((await apply(cronJob("nightly", { schedule: "@daily", timeZone: "Etc/UTC", successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 1 }))).code).toBe(0);
  const uid = (await getJson("cronjob", "nightly")).metadata.uid;

  // History from earlier runs: three finished Jobs, an hour apart, reported by someone else's
  // controller (spec.managedBy), so the Job controller leaves their status to the test.
  const hour = 3600_000;
  const t0 = Date.now() - 4 * hour;
  for (let i = 0; i < 3; i++) {
    const name = `nightly-old-${i}`;
    const r = await apply({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name, ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: "nightly", uid, controller: true }] },
      spec: { managedBy: "example.com/elsewhere", template: podTemplate },
    });
    expect(r.stderr).toBe("");
    const start = stamp(t0 + i * hour);
    await patchStatus("job", name, { startTime: start, completionTime: start, succeeded: 1, conditions: [{ type: "SuccessCriteriaMet", status: "True" }, { type: "Complete", status: "True" }] });
  }

  // The status says the last run was four days before the latest midnight, as after an outage:
  // four runs were missed, and only the most recent one is started.
  const day = 24 * hour;
  const lastRun = Math.floor(Date.now() / day) * day - 4 * day;
  await patchStatus("cronjob", "nightly", { lastScheduleTime: stamp(lastRun) });
  const fresh = await eventually("the Job for the latest missed time", async () => {
    const js = (await jobsOf("nightly")).filter((j) => !j.metadata.name.startsWith("nightly-old-"));
    return js.length ? js : undefined;
  });
  expect(fresh.length).toBe(1);
  const scheduled = Date.parse(fresh[0].metadata.annotations[SCHEDULED]);
  expect(scheduled % day).toBe(0);
  expect(scheduled).toBeLessThanOrEqual(Date.now());
  expect(scheduled).toBeGreaterThan(Date.now() - day);
  expect(fresh[0].metadata.name).toBe(`nightly-${scheduled / 60_000}`);

  // It runs and succeeds: it leaves status.active, sets lastSuccessfulTime, and the two oldest
  // of the four successful Jobs go.
  await podSucceeded(fresh[0].metadata.name);
  const kept = await eventually("history trimmed to 2", async () => {
    const names = (await jobsOf("nightly")).map((j) => j.metadata.name).sort();
    return names.length === 2 ? names : undefined;
  });
  expect(kept).toEqual([fresh[0].metadata.name, "nightly-old-2"].sort());
  const status = await eventually("nightly's status after the run", async () => {
    const st = (await getJson("cronjob", "nightly")).status;
    return st?.lastSuccessfulTime && !st.active?.length ? st : undefined;
  });
  expect(status.lastScheduleTime).toBe(stamp(scheduled));
  const reasons = ((await getJson("events", "--field-selector", "involvedObject.name=nightly")).items as any[]).map((e) => e.reason);
  expect(reasons).toEqual(expect.arrayContaining(["SuccessfulCreate", "SawCompletedJob", "SuccessfulDelete"]));

  const before = (await jobsOf("nightly")).map((j) => `${j.metadata.name}/${j.metadata.uid}`).sort();
  expect(await s.stop()).toBe(0);
  await s.restart();
  // A CronJob created after the restart firing means the controller runs again and has synced
  // what it found at start.
  expect((await apply(cronJob("probe", { schedule: "@every 1s", concurrencyPolicy: "Forbid" }))).code).toBe(0);
  await eventually("the probe's Job after the restart", async () => (await jobsOf("probe")).length > 0);
  const after = (await jobsOf("nightly")).map((j) => `${j.metadata.name}/${j.metadata.uid}`).sort();
  // The same Jobs, none made again; a later one only if a scheduled time passed meanwhile.
  const added = after.filter((j) => !before.includes(j));
  expect(before.every((j) => after.includes(j))).toBe(true);
  for (const j of added) expect(Number(j.split("/")[0]!.slice("nightly-".length)) * 60_000).toBeGreaterThan(scheduled);
  expect((await getJson("cronjob", "nightly")).status.lastScheduleTime).toBe(added.length ? expect.any(String) : stamp(scheduled));
});
