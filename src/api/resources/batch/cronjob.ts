// batch/v1 CronJob: creates a Job from spec.jobTemplate at each time of spec.schedule. Schema,
// upstream's defaults (SetDefaults_CronJob; the job template gets pod defaults only, the Job
// itself is defaulted when it is created), validation (ValidateCronJobCreate/Update, the
// schedule grammar in cron.ts) and the columns `kubectl get cronjobs` shows.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { Doc, ObjectMetaSchema, Obj, Time, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldInvalid, fieldNotSupported, fieldRequired } from "../../validation";
import {
  containerCells,
  containersColumn,
  formatLabelSelector,
  imagesColumn,
  Int32,
  Int64,
  nonNegative,
  ObjectReferenceSchema,
  selectorColumn,
} from "../common";
import { defaultTemplate } from "../apps/workload";
import { isKnownTimeZone, scheduleError } from "./cron";
import { JobSpecSchema } from "./job";
import { validateJobSpec } from "./job.validate";

const Opt = Type.Optional;

export const JobTemplateSpecSchema = Obj({
  metadata: Opt(ObjectMetaSchema),
  spec: Opt(JobSpecSchema),
});

export const CronJobSpecSchema = Obj({
  schedule: Type.String({ description: "When to run, in cron format: minute hour day-of-month month day-of-week, or a macro such as @hourly." }),
  timeZone: Opt(Type.String({ description: "The IANA time zone of the schedule, e.g. Europe/Paris; the server's local zone if unset." })),
  startingDeadlineSeconds: Opt(Int64({ description: "Seconds after a scheduled time within which a missed run may still start." })),
  concurrencyPolicy: Opt(Type.String({ description: "What to do when a run is due while the last one is active: Allow (default), Forbid or Replace." })),
  suspend: Opt(Type.Boolean({ description: "While true, no new runs start; active Jobs are not touched." })),
  jobTemplate: Doc(JobTemplateSpecSchema, "The Job each run creates."),
  successfulJobsHistoryLimit: Opt(Int32({ description: "Finished successful Jobs to keep (default 3)." })),
  failedJobsHistoryLimit: Opt(Int32({ description: "Failed Jobs to keep (default 1)." })),
});

export const CronJobStatusSchema = Obj({
  active: Opt(Type.Array(ObjectReferenceSchema, { "x-kubernetes-list-type": "atomic" })),
  lastScheduleTime: Opt(Time),
  lastSuccessfulTime: Opt(Time),
});

export const CronJobSchema = TopLevel(
  { spec: Opt(CronJobSpecSchema), status: Opt(CronJobStatusSchema) },
  "CronJob represents the configuration of a single cron job.",
);

export type CronJob = Static<typeof CronJobSchema> & KubeObject;
export type CronJobSpec = Static<typeof CronJobSpecSchema>;
export type CronJobStatus = Static<typeof CronJobStatusSchema>;

export const CONCURRENCY_POLICIES = ["Allow", "Forbid", "Replace"];

/** The controller appends "-<minutes since the epoch>" (11 characters) to name a Job; Job names stop at 63. */
const MAX_CRONJOB_NAME = 63 - 11;

/** Where a schedule uses upstream's unofficial TZ= / CRON_TZ= prefix (any "TZ" at all, as upstream checks). */
const mentionsTZ = (schedule: string | undefined) => schedule?.includes("TZ") ?? false;

/** Each part of an IANA name: letters, digits, '.', '-', '_', '+', at most 14 characters (upstream's check before the lookup). */
const TIME_ZONE_PART = /^[A-Za-z.\-_0-9+]{1,14}$/;

function validateTimeZone(zone: string | undefined, path: string): FieldError[] {
  if (zone === undefined) return [];
  if (zone === "") return [fieldInvalid(path, zone, "timeZone must be nil or non-empty string")];
  for (const part of zone.split("/"))
    if (part === "." || part === ".." || part.startsWith("-") || !TIME_ZONE_PART.test(part)) return [fieldInvalid(path, zone, `unknown time zone ${zone}`)];
  const errs: FieldError[] = [];
  if (zone.toLowerCase() === "local") errs.push(fieldInvalid(path, zone, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"));
  if (!isKnownTimeZone(zone)) errs.push(fieldInvalid(path, zone, `unknown time zone ${zone}`));
  return errs;
}

function validateSchedule(spec: CronJobSpec, old: CronJobSpec | undefined): FieldError[] {
  const path = "spec.schedule";
  const schedule = spec.schedule;
  if (typeof schedule !== "string") return []; // missing: reported by the decoder
  if (schedule === "") return [fieldRequired(path)];
  const errs: FieldError[] = [];
  const problem = scheduleError(schedule);
  if (problem) errs.push(fieldInvalid(path, schedule, problem));
  // A TZ= prefix is refused, except on an object that already had one (as upstream, which
  // accepted it once); even then not together with spec.timeZone.
  const allowTZ = mentionsTZ(old?.schedule);
  if (mentionsTZ(schedule)) {
    if (!allowTZ) errs.push(fieldInvalid(path, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"));
    else if (spec.timeZone !== undefined) errs.push(fieldInvalid(path, schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"));
  }
  return errs;
}

function validateJobTemplate(spec: CronJobSpec | undefined): FieldError[] {
  const path = "spec.jobTemplate.spec";
  const jobSpec = spec?.jobTemplate?.spec;
  if (!jobSpec) return [fieldRequired(`${path}.template`)];
  const errs = validateJobSpec(jobSpec, path);
  // The Job's selector is generated when it is created.
  if (jobSpec.selector) errs.push(fieldInvalid(`${path}.selector`, jobSpec.selector, "`selector` will be auto-generated"));
  if (jobSpec.manualSelector) errs.push(fieldNotSupported(`${path}.manualSelector`, jobSpec.manualSelector, ["nil", "false"]));
  return errs;
}

export function validateCronJob(cj: CronJob, old?: CronJob): FieldError[] {
  const spec = cj.spec;
  const errs: FieldError[] = [];
  // Only on create: older objects with longer names can still be updated and deleted.
  const name = cj.metadata.name ?? "";
  if (!old && name.length > MAX_CRONJOB_NAME) errs.push(fieldInvalid("metadata.name", name, `must be no more than ${MAX_CRONJOB_NAME} characters`));
  if (!spec) return [...errs, fieldRequired("spec.schedule"), ...validateJobTemplate(spec)];
  errs.push(...validateSchedule(spec, old?.spec));
  errs.push(...nonNegative(spec.startingDeadlineSeconds, "spec.startingDeadlineSeconds"));
  if (!old || old.spec?.timeZone !== spec.timeZone) errs.push(...validateTimeZone(spec.timeZone, "spec.timeZone"));
  const policy = spec.concurrencyPolicy ?? "";
  if (policy === "") errs.push(fieldRequired("spec.concurrencyPolicy"));
  else if (!CONCURRENCY_POLICIES.includes(policy)) errs.push(fieldNotSupported("spec.concurrencyPolicy", policy, CONCURRENCY_POLICIES));
  errs.push(...validateJobTemplate(spec));
  errs.push(...nonNegative(spec.successfulJobsHistoryLimit, "spec.successfulJobsHistoryLimit"));
  errs.push(...nonNegative(spec.failedJobsHistoryLimit, "spec.failedJobsHistoryLimit"));
  return errs;
}

function defaultCronJob(cj: CronJob) {
  const spec = cj.spec;
  if (!spec) return;
  spec.concurrencyPolicy ||= "Allow";
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  // Go clients send an unset creationTimestamp as null; it means "unset".
  if (spec.jobTemplate?.metadata?.creationTimestamp === null) delete spec.jobTemplate.metadata.creationTimestamp;
  defaultTemplate(spec.jobTemplate?.spec?.template);
}

export const cronJobs: ResourceDef<CronJob> = {
  ...KINDS.cronJobs,
  schema: CronJobSchema,
  subresources: ["status"],
  hasStatus: true,
  defaults: defaultCronJob,
  validate: validateCronJob,
  table: {
    columns: [
      nameColumn,
      column("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
      column("Timezone", "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
      column("Suspend", "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.", 0, "boolean"),
      column("Active", "A list of pointers to currently running jobs.", 0, "integer"),
      column("Last Schedule", "Information when was the last time the job was successfully scheduled."),
      ageColumn,
      containersColumn,
      imagesColumn,
      selectorColumn("A label query over pods that should match the pod count. Normally, the system sets this field for you."),
    ],
    row(cj, now) {
      const jobSpec = cj.spec?.jobTemplate?.spec;
      const [names, images] = containerCells(jobSpec?.template?.spec?.containers);
      const suspend = cj.spec?.suspend;
      return [
        cj.metadata.name,
        cj.spec?.schedule ?? "",
        cj.spec?.timeZone ?? "<none>",
        suspend === undefined ? "<unset>" : suspend ? "True" : "False",
        cj.status?.active?.length ?? 0,
        cj.status?.lastScheduleTime ? age(cj.status.lastScheduleTime, now) : "<none>",
        age(cj.metadata.creationTimestamp, now),
        names,
        images,
        formatLabelSelector(jobSpec?.selector),
      ];
    },
  },
};
