import { describe, expect, test } from "bun:test";
import { cronJobs, validateCronJob, type CronJob } from "./cronjob";

const base = (spec: Partial<NonNullable<CronJob["spec"]>> = {}, name = "backup"): CronJob => {
  const cj: CronJob = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name, namespace: "default" },
    spec: {
      schedule: "*/5 * * * *",
      jobTemplate: { spec: { template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "c", image: "busybox" }] } } } },
      ...spec,
    },
  };
  cronJobs.defaults(cj);
  return cj;
};

const messages = (cj: CronJob, old?: CronJob) => validateCronJob(cj, old).map((e) => `${e.field}: ${e.message}`);

describe("CronJob defaults", () => {
  test("as upstream's SetDefaults_CronJob, plus pod defaults in the template (not Job defaults)", () => {
    const cj = base();
    expect(cj.spec).toMatchObject({ concurrencyPolicy: "Allow", suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 });
    const podSpec = cj.spec!.jobTemplate.spec!.template.spec!;
    expect(podSpec.dnsPolicy).toBe("ClusterFirst");
    expect(podSpec.terminationGracePeriodSeconds).toBe(30);
    expect(cj.spec!.jobTemplate.spec!.backoffLimit).toBeUndefined();
  });

  test("explicit values stay; null creationTimestamps from Go clients go", () => {
    const cj = base({ concurrencyPolicy: "Forbid", suspend: true, successfulJobsHistoryLimit: 0, jobTemplate: { metadata: { creationTimestamp: null as never }, spec: { template: { metadata: { creationTimestamp: null as never }, spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } } } });
    expect(cj.spec).toMatchObject({ concurrencyPolicy: "Forbid", suspend: true, successfulJobsHistoryLimit: 0 });
    expect(cj.spec!.jobTemplate.metadata).toEqual({});
    expect(cj.spec!.jobTemplate.spec!.template.metadata).toEqual({});
  });
});

describe("CronJob validation", () => {
  test("a valid CronJob, with the macros and a time zone", () => {
    expect(messages(base())).toEqual([]);
    expect(messages(base({ schedule: "@hourly", timeZone: "Europe/Berlin" }))).toEqual([]);
    expect(messages(base({ schedule: "0 3 * * mon-fri", timeZone: "Etc/UTC", startingDeadlineSeconds: 0 }))).toEqual([]);
  });

  test("schedules that do not parse, with upstream's messages", () => {
    expect(messages(base({ schedule: "" }))).toEqual(["spec.schedule: Required value"]);
    expect(messages(base({ schedule: "* * * *" }))).toEqual(['spec.schedule: Invalid value: "* * * *": expected exactly 5 fields, found 4: [* * * *]']);
    expect(messages(base({ schedule: "61 * * * *" }))).toEqual(['spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61']);
  });

  test("TZ= and CRON_TZ= in the schedule are refused on create; kept only where they were", () => {
    const tz = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead";
    expect(messages(base({ schedule: "TZ=UTC 0 * * * *" }))).toEqual([`spec.schedule: Invalid value: "TZ=UTC 0 * * * *": ${tz}`]);
    expect(messages(base({ schedule: "CRON_TZ=UTC 0 * * * *" }))).toEqual([`spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": ${tz}`]);
    const legacy = base({ schedule: "TZ=UTC 0 * * * *" });
    expect(messages(base({ schedule: "TZ=UTC 5 * * * *" }), legacy)).toEqual([]);
    expect(messages(base({ schedule: "TZ=UTC 5 * * * *", timeZone: "UTC" }), legacy)).toEqual([
      'spec.schedule: Invalid value: "TZ=UTC 5 * * * *": cannot use both timeZone field and TZ or CRON_TZ in schedule',
    ]);
  });

  test("timeZone must name an IANA zone", () => {
    expect(messages(base({ timeZone: "" }))).toEqual(['spec.timeZone: Invalid value: "": timeZone must be nil or non-empty string']);
    expect(messages(base({ timeZone: "Local" }))).toEqual(['spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones']);
    expect(messages(base({ timeZone: "Mars/Olympus" }))).toEqual(['spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus']);
    expect(messages(base({ timeZone: " Europe/Berlin" }))).toEqual(['spec.timeZone: Invalid value: " Europe/Berlin": unknown time zone  Europe/Berlin']);
    expect(messages(base({ timeZone: "../etc/passwd" }))).toEqual(['spec.timeZone: Invalid value: "../etc/passwd": unknown time zone ../etc/passwd']);
    // An unchanged zone is not checked again on update (the database may have dropped it).
    const old = base({ timeZone: "Europe/Berlin" });
    old.spec!.timeZone = "Gone/Zone";
    const next = base();
    next.spec!.timeZone = "Gone/Zone";
    expect(messages(next, old)).toEqual([]);
  });

  test("policy, limits, deadline", () => {
    expect(messages(base({ concurrencyPolicy: "Sometimes" }))).toEqual(['spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"']);
    expect(messages(base({ startingDeadlineSeconds: -1, successfulJobsHistoryLimit: -1, failedJobsHistoryLimit: -2 }))).toEqual([
      "spec.startingDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0",
      "spec.successfulJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
      "spec.failedJobsHistoryLimit: Invalid value: -2: must be greater than or equal to 0",
    ]);
  });

  test("the job template: a Job spec without a selector of its own", () => {
    const cj = base();
    cj.spec!.jobTemplate.spec!.template.spec!.restartPolicy = "Always";
    expect(messages(cj)).toEqual(['spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"']);
    const sel = base();
    sel.spec!.jobTemplate.spec!.selector = { matchLabels: { a: "b" } };
    sel.spec!.jobTemplate.spec!.manualSelector = true;
    expect(messages(sel)).toEqual([
      'spec.jobTemplate.spec.selector: Invalid value: {"matchLabels":{"a":"b"}}: `selector` will be auto-generated',
      'spec.jobTemplate.spec.manualSelector: Unsupported value: true: supported values: "nil", "false"',
    ]);
  });

  test("names: at most 52 characters on create (the Job name adds 11); longer old ones may still change", () => {
    const long = "a".repeat(53);
    expect(messages(base({}, long))).toEqual([`metadata.name: Invalid value: "${long}": must be no more than 52 characters`]);
    expect(messages(base({}, "a".repeat(52)))).toEqual([]);
    expect(messages(base({ suspend: true }, long), base({}, long))).toEqual([]);
  });
});

describe("CronJob table", () => {
  test("NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE, and the wide columns", () => {
    expect(cronJobs.table.columns.map((c) => c.name.toUpperCase())).toEqual(["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]);
    const now = new Date("2026-01-01T12:00:00Z");
    const cj = base({ timeZone: "Europe/Berlin" });
    cj.metadata.creationTimestamp = "2026-01-01T10:00:00Z";
    expect(cronJobs.table.row(cj, now)).toEqual(["backup", "*/5 * * * *", "Europe/Berlin", "False", 0, "<none>", "120m", "c", "busybox", "<none>"]);
    cj.status = { active: [{ name: "backup-1" }], lastScheduleTime: "2026-01-01T11:55:00Z" };
    cj.spec!.suspend = true;
    delete cj.spec!.timeZone;
    expect(cronJobs.table.row(cj, now).slice(2, 6)).toEqual(["<none>", "True", 1, "5m"]);
  });
});
