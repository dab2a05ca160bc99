// ValidateJob and ValidateJobUpdate (upstream's pkg/apis/batch/validation), with upstream's field
// paths and messages.
import type { FieldError } from "../../errors";
import {
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  fieldTooLong,
  isDns1123Subdomain,
  isQualifiedName,
  validateAnnotations,
  validateLabels,
  validateLabelSelector,
} from "../../validation";
import { formatLabels, jsonEqual, nonNegative, selectorMatches } from "../common";
import type { PodTemplateSpec } from "../core/podspec.schema";
import { validatePodSpec } from "../core/podspec.validate";
import { parseIndexes } from "./indexes";
import type { Job, JobSpec, PodFailurePolicyRule } from "./job";
import { JOB_LABELS } from "./labels";


const MAX_PARALLELISM_INDEXED = 100_000;
const COMPLETIONS_SOFT_LIMIT = 100_000;
const PARALLELISM_LIMIT_HIGH_COMPLETIONS = 10_000;
const MAX_FAILED_INDEXES_LIMIT_HIGH_COMPLETIONS = 10_000;
const MAX_FAILED_INDEXES = 100_000;
const MAX_POD_FAILURE_RULES = 20;
const MAX_EXIT_CODE_VALUES = 255;
const MAX_POD_CONDITION_PATTERNS = 20;
const MAX_SUCCESS_RULES = 20;
const MAX_SUCCEEDED_INDEXES_LENGTH = 64 * 1024;
const MAX_MANAGED_BY_LENGTH = 63;

const tooMany = (field: string, got: number, max: number): FieldError => ({
  field,
  type: "TooMany",
  message: `Too many: ${got}: must have at most ${max} items`,
});

function hasLabel(t: PodTemplateSpec | undefined, key: string, expected: string): FieldError[] {
  const labels = t?.metadata?.labels ?? {};
  const path = `spec.template.metadata.labels[${key}]`;
  if (!(key in labels)) return [fieldRequired(path, expected)];
  if (labels[key] !== expected) return [fieldInvalid(path, formatLabels(labels), `must be '${expected}'`)];
  return [];
}

/** The labels a generated selector needs on the template, and a selector that picks them. */
function validateGeneratedSelector(job: Job): FieldError[] {
  const spec = job.spec;
  if (!spec || spec.manualSelector || !spec.selector) return [];
  const errs: FieldError[] = [];
  const uid = job.metadata.uid ?? "";
  const name = job.metadata.name ?? "";
  if (!uid) errs.push(fieldRequired("metadata.uid"));
  errs.push(...hasLabel(spec.template, JOB_LABELS.legacyControllerUid, uid));
  errs.push(...hasLabel(spec.template, JOB_LABELS.legacyJobName, name));
  errs.push(...hasLabel(spec.template, JOB_LABELS.controllerUid, uid));
  errs.push(...hasLabel(spec.template, JOB_LABELS.jobName, name));
  const expected = { [JOB_LABELS.controllerUid]: uid, [JOB_LABELS.legacyControllerUid]: uid, [JOB_LABELS.jobName]: name, [JOB_LABELS.legacyJobName]: name };
  if (!selectorMatches(spec.selector, expected)) errs.push(fieldInvalid("spec.selector", spec.selector, "`selector` not auto-generated"));
  return errs;
}

export function validateJob(job: Job): FieldError[] {
  if (!job.spec) return [fieldRequired("spec.selector"), fieldRequired("spec.template")];
  const errs = validateGeneratedSelector(job);
  for (const f of ["active", "succeeded", "failed", "ready", "terminating"] as const) errs.push(...nonNegative(job.status?.[f], `status.${f}`));
  errs.push(...validateJobSpec(job.spec, "spec"));
  if (!job.spec.selector) errs.push(fieldRequired("spec.selector"));
  else {
    errs.push(...validateLabelSelector(job.spec.selector, "spec.selector"));
    const labels = job.spec.template?.metadata?.labels;
    if (!selectorMatches(job.spec.selector, labels))
      errs.push(fieldInvalid("spec.template.metadata.labels", formatLabels(labels), "`selector` does not match template `labels`"));
  }
  return errs;
}

/** The part of validation a CronJob's job template shares with a Job (no selector checks). */
export function validateJobSpec(spec: JobSpec, path: string): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...nonNegative(spec.parallelism, `${path}.parallelism`));
  errs.push(...nonNegative(spec.completions, `${path}.completions`));
  errs.push(...nonNegative(spec.activeDeadlineSeconds, `${path}.activeDeadlineSeconds`));
  errs.push(...nonNegative(spec.backoffLimit, `${path}.backoffLimit`));
  errs.push(...nonNegative(spec.ttlSecondsAfterFinished, `${path}.ttlSecondsAfterFinished`));
  const indexed = spec.completionMode === "Indexed";
  if (spec.backoffLimitPerIndex !== undefined) {
    errs.push(...nonNegative(spec.backoffLimitPerIndex, `${path}.backoffLimitPerIndex`));
    if (!indexed) errs.push(fieldForbidden(`${path}.backoffLimitPerIndex`, "requires indexed completion mode"));
  }
  if (spec.maxFailedIndexes !== undefined) {
    errs.push(...nonNegative(spec.maxFailedIndexes, `${path}.maxFailedIndexes`));
    if (spec.backoffLimitPerIndex === undefined) errs.push(fieldRequired(`${path}.backoffLimitPerIndex`, "when maxFailedIndexes is specified"));
    if (spec.maxFailedIndexes > MAX_FAILED_INDEXES)
      errs.push(fieldInvalid(`${path}.maxFailedIndexes`, spec.maxFailedIndexes, `must be less than or equal to ${MAX_FAILED_INDEXES}`));
    if (indexed && spec.completions !== undefined && spec.maxFailedIndexes > spec.completions)
      errs.push(fieldInvalid(`${path}.maxFailedIndexes`, spec.maxFailedIndexes, "must be less than or equal to completions"));
  }
  if (spec.completionMode !== undefined && !["NonIndexed", "Indexed"].includes(spec.completionMode))
    errs.push(fieldNotSupported(`${path}.completionMode`, spec.completionMode, ["NonIndexed", "Indexed"]));
  if (indexed) {
    if (spec.completions === undefined) errs.push(fieldRequired(`${path}.completions`, "when completion mode is Indexed"));
    if (spec.parallelism !== undefined && spec.parallelism > MAX_PARALLELISM_INDEXED)
      errs.push(fieldInvalid(`${path}.parallelism`, spec.parallelism, `must be less than or equal to ${MAX_PARALLELISM_INDEXED} when completion mode is Indexed`));
    if (spec.completions !== undefined && spec.completions > COMPLETIONS_SOFT_LIMIT && spec.backoffLimitPerIndex !== undefined) {
      if (spec.maxFailedIndexes === undefined)
        errs.push(fieldRequired(`${path}.maxFailedIndexes`, `must be specified when completions is above ${COMPLETIONS_SOFT_LIMIT}`));
      else if (spec.maxFailedIndexes > MAX_FAILED_INDEXES_LIMIT_HIGH_COMPLETIONS)
        errs.push(fieldInvalid(`${path}.maxFailedIndexes`, spec.maxFailedIndexes, `must be less than or equal to ${MAX_FAILED_INDEXES_LIMIT_HIGH_COMPLETIONS} when completions is above ${COMPLETIONS_SOFT_LIMIT}`));
      if ((spec.parallelism ?? 0) > PARALLELISM_LIMIT_HIGH_COMPLETIONS)
        errs.push(fieldInvalid(`${path}.parallelism`, spec.parallelism, `must be less than or equal to ${PARALLELISM_LIMIT_HIGH_COMPLETIONS} when completions are above ${COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index`));
    }
  }
  if (spec.podReplacementPolicy !== undefined) {
    const allowed = spec.podFailurePolicy ? ["Failed"] : ["TerminatingOrFailed", "Failed"];
    if (!allowed.includes(spec.podReplacementPolicy)) errs.push(fieldNotSupported(`${path}.podReplacementPolicy`, spec.podReplacementPolicy, allowed));
  }
  if (spec.managedBy !== undefined) errs.push(...validateManagedBy(spec.managedBy, `${path}.managedBy`));
  errs.push(...validateTemplate(spec.template, `${path}.template`));
  const restartPolicy = spec.template?.spec?.restartPolicy;
  if (restartPolicy !== "OnFailure" && restartPolicy !== "Never")
    errs.push(fieldNotSupported(`${path}.template.spec.restartPolicy`, restartPolicy ?? "", ["OnFailure", "Never"]));
  if (spec.podFailurePolicy) errs.push(...validatePodFailurePolicy(spec, path));
  if (spec.successPolicy) errs.push(...validateSuccessPolicy(spec, path));
  return errs;
}

/** ValidatePodTemplateSpec: labels, annotations and the pod spec (no ReplicaSet-only rules). */
function validateTemplate(t: PodTemplateSpec | undefined, path: string): FieldError[] {
  if (!t) return [fieldRequired(path)];
  return [
    ...validateLabels(t.metadata?.labels, `${path}.metadata.labels`),
    ...validateAnnotations(t.metadata?.annotations, `${path}.metadata.annotations`),
    ...validatePodSpec(t.spec, `${path}.spec`),
  ];
}

function validateManagedBy(value: string, path: string): FieldError[] {
  if (value.length > MAX_MANAGED_BY_LENGTH) return [fieldTooLong(path, MAX_MANAGED_BY_LENGTH)];
  const slash = value.indexOf("/");
  if (slash < 0) return [fieldInvalid(path, value, "must be a domain-prefixed path (such as \"acme.io/foo\")")];
  const domain = value.slice(0, slash);
  const problems = isDns1123Subdomain(domain);
  if (problems.length) return problems.map((p) => fieldInvalid(path, domain, p));
  if (!/^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/.test(value.slice(slash + 1)))
    return [fieldInvalid(path, value.slice(slash + 1), "Invalid path")];
  return [];
}

function validatePodFailurePolicy(spec: JobSpec, specPath: string): FieldError[] {
  const path = `${specPath}.podFailurePolicy`;
  const errs: FieldError[] = [];
  const rules = spec.podFailurePolicy?.rules ?? [];
  if (rules.length > MAX_POD_FAILURE_RULES) errs.push(tooMany(`${path}.rules`, rules.length, MAX_POD_FAILURE_RULES));
  const restartPolicy = spec.template?.spec?.restartPolicy;
  if (restartPolicy !== "Never")
    errs.push(fieldInvalid(`${specPath}.template.spec.restartPolicy`, restartPolicy ?? "", 'only "Never" is supported when podFailurePolicy is specified'));
  const containers = new Set([...(spec.template?.spec?.containers ?? []), ...(spec.template?.spec?.initContainers ?? [])].map((c) => c.name));
  rules.forEach((rule, i) => errs.push(...validatePodFailureRule(spec, rule, `${path}.rules[${i}]`, containers)));
  return errs;
}

function validatePodFailureRule(spec: JobSpec, rule: PodFailurePolicyRule, path: string, containers: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  const actions = ["FailJob", "FailIndex", "Ignore", "Count"];
  if (!actions.includes(rule.action)) errs.push(fieldNotSupported(`${path}.action`, rule.action, actions));
  if (rule.action === "FailIndex" && spec.backoffLimitPerIndex === undefined)
    errs.push(fieldForbidden(`${path}.action`, "requires the backoffLimitPerIndex to be set"));
  if (rule.onExitCodes && rule.onPodConditions?.length)
    errs.push(fieldInvalid(path, rule, "specifying both OnExitCodes and OnPodConditions is not supported"));
  else if (!rule.onExitCodes && !rule.onPodConditions?.length)
    errs.push(fieldInvalid(path, rule, "specifying one of OnExitCodes and OnPodConditions is required"));
  const ec = rule.onExitCodes;
  if (ec) {
    const p = `${path}.onExitCodes`;
    if (ec.containerName !== undefined && !containers.has(ec.containerName))
      errs.push(fieldInvalid(`${p}.containerName`, ec.containerName, "must be one of the container or initContainer names in the pod template"));
    if (ec.operator !== "In" && ec.operator !== "NotIn") errs.push(fieldNotSupported(`${p}.operator`, ec.operator, ["In", "NotIn"]));
    if (ec.values.length === 0) errs.push(fieldRequired(`${p}.values`, "at least one value is required"));
    if (ec.values.length > MAX_EXIT_CODE_VALUES) errs.push(tooMany(`${p}.values`, ec.values.length, MAX_EXIT_CODE_VALUES));
    const seen = new Set<number>();
    let prev: number | undefined;
    ec.values.forEach((v, j) => {
      if (seen.has(v)) errs.push({ field: `${p}.values[${j}]`, type: "Duplicate", message: `Duplicate value: ${v}` });
      if (ec.operator === "In" && v === 0) errs.push(fieldInvalid(`${p}.values[${j}]`, v, "must not be 0 for the In operator"));
      if (prev !== undefined && prev > v) errs.push(fieldInvalid(`${p}.values[${j}]`, v, "must be ordered"));
      seen.add(v);
      prev = v;
    });
  }
  const pcs = rule.onPodConditions ?? [];
  if (pcs.length > MAX_POD_CONDITION_PATTERNS) errs.push(tooMany(`${path}.onPodConditions`, pcs.length, MAX_POD_CONDITION_PATTERNS));
  pcs.forEach((pc, j) => {
    const p = `${path}.onPodConditions[${j}]`;
    for (const problem of isQualifiedName(pc.type)) errs.push(fieldInvalid(`${p}.type`, pc.type, problem));
    if (pc.status !== undefined && !["True", "False", "Unknown"].includes(pc.status))
      errs.push(fieldNotSupported(`${p}.status`, pc.status, ["True", "False", "Unknown"]));
  });
  return errs;
}

function validateSuccessPolicy(spec: JobSpec, specPath: string): FieldError[] {
  const path = `${specPath}.successPolicy`;
  const errs: FieldError[] = [];
  const rules = spec.successPolicy?.rules ?? [];
  if (spec.completionMode !== "Indexed")
    errs.push(fieldInvalid(`${specPath}.completionMode`, spec.completionMode ?? "", "requires indexed completion mode"));
  if (rules.length === 0) errs.push(fieldRequired(`${path}.rules`, "at least one rules must be specified when the successPolicy is specified"));
  if (rules.length > MAX_SUCCESS_RULES) errs.push(tooMany(`${path}.rules`, rules.length, MAX_SUCCESS_RULES));
  rules.forEach((rule, i) => {
    const p = `${path}.rules[${i}]`;
    if (rule.succeededIndexes === undefined && rule.succeededCount === undefined)
      errs.push(fieldRequired(p, "at least one of succeededCount or succeededIndexes must be specified"));
    let indexCount: number | undefined;
    if (rule.succeededIndexes !== undefined) {
      if (rule.succeededIndexes.length > MAX_SUCCEEDED_INDEXES_LENGTH)
        errs.push(fieldTooLong(`${p}.succeededIndexes`, MAX_SUCCEEDED_INDEXES_LENGTH));
      else {
        const parsed = parseIndexes(rule.succeededIndexes, spec.completions);
        if ("error" in parsed) errs.push(fieldInvalid(`${p}.succeededIndexes`, rule.succeededIndexes, `error parsing succeededIndexes: ${parsed.error}`));
        else indexCount = parsed.total;
      }
    }
    if (rule.succeededCount !== undefined) {
      const c = rule.succeededCount;
      if (c < 0) errs.push(fieldInvalid(`${p}.succeededCount`, c, "must be greater than or equal to 0"));
      else if (spec.completions !== undefined && c > spec.completions)
        errs.push(fieldInvalid(`${p}.succeededCount`, c, `must be less than or equal to ${spec.completions} (the number of specified completions)`));
      else if (indexCount !== undefined && c > indexCount)
        errs.push(fieldInvalid(`${p}.succeededCount`, c, `must be less than or equal to ${indexCount} (the number of indexes in the specified succeededIndexes field)`));
    }
  });
  return errs;
}

const SCHEDULING_FIELDS = ["nodeSelector", "affinity", "tolerations", "schedulingGates"] as const;

/**
 * ValidateJobSpecUpdate: what may not change once a Job exists. The template's scheduling
 * directives (node selector, affinity, tolerations, scheduling gates, labels, annotations) may
 * change while the Job is suspended and has never started; completions may change with
 * parallelism for an Indexed Job (elastic).
 */
export function validateJobUpdate(job: Job, old: Job): FieldError[] {
  const errs: FieldError[] = [];
  const spec = job.spec;
  const was = old.spec;
  if (!spec || !was) return errs;
  const immutable = (field: string, a: unknown, b: unknown) => {
    if (!jsonEqual(a ?? null, b ?? null)) errs.push(fieldInvalid(`spec.${field}`, a ?? null, "field is immutable"));
  };
  const elastic = spec.completionMode === "Indexed" && was.completionMode === "Indexed" && spec.completions === spec.parallelism && was.completions === was.parallelism;
  if (!elastic) immutable("completions", spec.completions, was.completions);
  immutable("selector", spec.selector, was.selector);
  immutable("completionMode", spec.completionMode, was.completionMode);
  immutable("podFailurePolicy", spec.podFailurePolicy, was.podFailurePolicy);
  immutable("backoffLimitPerIndex", spec.backoffLimitPerIndex, was.backoffLimitPerIndex);
  immutable("successPolicy", spec.successPolicy, was.successPolicy);
  immutable("managedBy", spec.managedBy, was.managedBy);
  const mutableScheduling = was.suspend === true && !old.status?.startTime;
  const strip = (t: PodTemplateSpec | undefined) => {
    if (!t || !mutableScheduling) return t;
    const spec = { ...t.spec } as Record<string, unknown>;
    for (const f of SCHEDULING_FIELDS) delete spec[f];
    return { ...t, metadata: { ...t.metadata, labels: undefined, annotations: undefined }, spec };
  };
  if (!jsonEqual(strip(spec.template) ?? null, strip(was.template) ?? null))
    errs.push(fieldInvalid("spec.template", spec.template, "field is immutable"));
  return errs;
}
