// batch/v1 Job: runs pods to completion. Schema, upstream's defaults (SetDefaults_Job), the
// selector the API server generates unless spec.manualSelector is set (the registry strategy's
// PrepareForCreate), validation (job.validate.ts) and the columns `kubectl get jobs` shows.
import { Type, type Static } from "@sinclair/typebox";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { Doc, LabelSelectorSchema, Obj, TopLevel, Time } from "../../schema";
import { age, ageColumn, column, humanDuration, nameColumn } from "../../table";
import { Conditions, containerCells, containersColumn, imagesColumn, Int32, Int64, labelSelectorString, NullableTime, selectorColumn } from "../common";
import { PodTemplateSpecSchema } from "../core/podspec.schema";
import { defaultTemplate } from "../apps/workload";
import { validateJob, validateJobUpdate } from "./job.validate";
import { JOB_LABELS } from "./labels";

export { JOB_LABELS } from "./labels";

const Opt = Type.Optional;
const Str = () => Type.String();


export const PodFailurePolicyRuleSchema = Obj({
  action: Str(),
  onExitCodes: Opt(Obj({ containerName: Opt(Str()), operator: Str(), values: Type.Array(Int32(), { "x-kubernetes-list-type": "set" }) }, { title: "PodFailurePolicyOnExitCodesRequirement" })),
  onPodConditions: Opt(Type.Array(Obj({ type: Str(), status: Opt(Str()) }, { title: "PodFailurePolicyOnPodConditionsPattern" }))),
}, { title: "PodFailurePolicyRule" });

export const SuccessPolicyRuleSchema = Obj({ succeededIndexes: Opt(Str()), succeededCount: Opt(Int32()) }, { title: "SuccessPolicyRule" });

export const JobSpecSchema = Obj({
  parallelism: Opt(Int32({ description: "How many pods may run at once (default 1; 0 pauses the Job)." })),
  completions: Opt(Int32({ description: "How many pods must succeed for the Job to complete; unset means the first success completes it." })),
  activeDeadlineSeconds: Opt(Int64({ description: "Seconds the Job may stay active before it is failed and its pods stopped." })),
  podFailurePolicy: Opt(Doc(Obj({ rules: Type.Array(PodFailurePolicyRuleSchema) }, { title: "PodFailurePolicy" }), "Rules that decide, from a failed pod's exit codes or conditions, whether to fail the Job, fail the index, ignore the failure or count it.")),
  successPolicy: Opt(Doc(Obj({ rules: Type.Array(SuccessPolicyRuleSchema) }, { title: "SuccessPolicy" }), "Rules by which an Indexed Job succeeds before all its indexes have.")),
  backoffLimit: Opt(Int32({ description: "Retries before the Job is marked failed (default 6)." })),
  backoffLimitPerIndex: Opt(Int32({ description: "Retries per index of an Indexed Job before that index is marked failed." })),
  maxFailedIndexes: Opt(Int32({ description: "Failed indexes after which the whole Job fails (with backoffLimitPerIndex)." })),
  selector: Opt(Doc(LabelSelectorSchema, "The pods this Job counts; generated from the Job's uid unless manualSelector is true.")),
  manualSelector: Opt(Type.Boolean({ description: "Use the given selector instead of the generated one." })),
  template: PodTemplateSpecSchema,
  ttlSecondsAfterFinished: Opt(Int32({ description: "Seconds after the Job finishes before it is deleted, with its pods." })),
  completionMode: Opt(Type.String({ description: "NonIndexed (default): done after `completions` pods succeed; Indexed: each index 0..completions-1 needs a success." })),
  suspend: Opt(Type.Boolean({ description: "While true, no pods are created and running ones are stopped." })),
  podReplacementPolicy: Opt(Type.String({ description: "When a replacement pod is created: TerminatingOrFailed (default) or Failed." })),
  managedBy: Opt(Type.String({ description: "The controller that syncs this Job; empty for the built-in one." })),
});

export const JobConditionSchema = Obj({
  type: Str(),
  status: Str(),
  lastProbeTime: Opt(NullableTime),
  lastTransitionTime: Opt(NullableTime),
  reason: Opt(Str()),
  message: Opt(Str()),
}, { title: "JobCondition" });

export const JobStatusSchema = Obj({
  conditions: Opt(Conditions(JobConditionSchema)),
  startTime: Opt(Time),
  completionTime: Opt(Time),
  active: Opt(Int32()),
  succeeded: Opt(Int32()),
  failed: Opt(Int32()),
  terminating: Opt(Int32()),
  completedIndexes: Opt(Str()),
  failedIndexes: Opt(Str()),
  uncountedTerminatedPods: Opt(Obj({ succeeded: Opt(Type.Array(Str())), failed: Opt(Type.Array(Str())) }, { title: "UncountedTerminatedPods" })),
  ready: Opt(Int32()),
});

export const JobSchema = TopLevel(
  { spec: Opt(JobSpecSchema), status: Opt(JobStatusSchema) },
  "Job represents the configuration of a single job.",
);

export type Job = Static<typeof JobSchema> & KubeObject;
export type JobSpec = Static<typeof JobSpecSchema>;
export type JobStatus = Static<typeof JobStatusSchema>;
export type JobCondition = Static<typeof JobConditionSchema>;
export type PodFailurePolicyRule = Static<typeof PodFailurePolicyRuleSchema>;

/** SetDefaults_Job for a spec (a Job's, or a CronJob's job template's). */
export function defaultJobSpec(spec: JobSpec) {
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  spec.completionMode ??= "NonIndexed";
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? "Failed" : "TerminatingOrFailed";
  spec.manualSelector ??= false;
  for (const rule of spec.podFailurePolicy?.rules ?? []) for (const p of rule.onPodConditions ?? []) p.status ??= "True";
  defaultTemplate(spec.template);
}

/**
 * The selector the API server writes unless manualSelector is true: the template gets the job's
 * uid and name as labels (new and legacy keys; labels a user already set are left for validation
 * to judge), and the selector matches the uid, which no other Job's pods carry.
 */
export function generateSelector(job: Job) {
  const spec = job.spec!;
  const uid = job.metadata.uid!;
  const t = (spec.template ??= {} as JobSpec["template"]);
  const labels = ((t.metadata ??= {}).labels ??= {});
  labels[JOB_LABELS.legacyJobName] ??= job.metadata.name ?? "";
  labels[JOB_LABELS.jobName] ??= job.metadata.name ?? "";
  labels[JOB_LABELS.legacyControllerUid] ??= uid;
  labels[JOB_LABELS.controllerUid] ??= uid;
  const sel = (spec.selector ??= {});
  (sel.matchLabels ??= {})[JOB_LABELS.controllerUid] ??= uid;
}

function defaultJob(job: Job) {
  if (!job.spec) return;
  defaultJobSpec(job.spec);
  // The uid is set before defaults run, on create as on update; a stored Job already has its
  // selector, so this only fills it on create.
  if (!job.spec.manualSelector && job.metadata.uid && job.metadata.name) generateSelector(job);
  // A Job without labels of its own takes its template's (upstream defaults again when it reads
  // a stored Job, so there the generated labels are copied too).
  const templateLabels = job.spec.template?.metadata?.labels;
  if (templateLabels && !Object.keys(job.metadata.labels ?? {}).length) job.metadata.labels = { ...templateLabels };
}

const hasCondition = (job: Job, type: string) => job.status?.conditions?.some((c) => c.type === type && c.status === "True") ?? false;

/** The STATUS column, in upstream's order of precedence. */
export function jobStatusText(job: Job): string {
  if (hasCondition(job, "Complete")) return "Complete";
  if (hasCondition(job, "Failed")) return "Failed";
  if (job.metadata.deletionTimestamp) return "Terminating";
  if (hasCondition(job, "Suspended")) return "Suspended";
  if (hasCondition(job, "FailureTarget")) return "FailureTarget";
  if (hasCondition(job, "SuccessCriteriaMet")) return "SuccessCriteriaMet";
  return "Running";
}

function completionsText(job: Job): string {
  const succeeded = job.status?.succeeded ?? 0;
  if (job.spec?.completions !== undefined) return `${succeeded}/${job.spec.completions}`;
  const parallelism = job.spec?.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function durationText(job: Job, now: Date): string {
  const start = job.status?.startTime;
  if (!start) return "";
  const end = job.status?.completionTime;
  return humanDuration((end ? Date.parse(end) : now.getTime()) - Date.parse(start));
}

export const jobs: ResourceDef<Job> = {
  ...KINDS.jobs,
  schema: JobSchema,
  subresources: ["status"],
  hasStatus: true,
  defaults: defaultJob,
  validate: (job) => validateJob(job),
  immutable: validateJobUpdate,
  table: {
    columns: [
      nameColumn,
      column("Status", "Status of the job."),
      column("Completions", "The completed jobs / the desired number of completions."),
      column("Duration", "Time required to complete the job."),
      ageColumn,
      containersColumn,
      imagesColumn,
      selectorColumn("A label query over pods that should match the pod count. Normally, the system sets this field for you."),
    ],
    row(job, now) {
      const [names, images] = containerCells(job.spec?.template?.spec?.containers);
      return [
        job.metadata.name,
        jobStatusText(job),
        completionsText(job),
        durationText(job, now),
        age(job.metadata.creationTimestamp, now),
        names,
        images,
        labelSelectorString(job.spec?.selector),
      ];
    },
  },
};
