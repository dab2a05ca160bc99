// policy/v1 PodDisruptionBudget: how many of a set of pods voluntary disruptions (evictions,
// `kubectl drain`) must leave healthy. The disruption controller fills its status; the eviction
// subresource of pods reads and decrements it.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { Doc, IntOrString, LabelSelectorSchema, Obj, TopLevel, Time } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldInvalid, fieldNotSupported, validateLabelSelector } from "../../validation";
import { Conditions, Int32, Int64, nonNegative, NullableTime, percentOver100, validateIntOrPercent } from "../common";

const Opt = Type.Optional;

export const UNHEALTHY_POD_EVICTION_POLICIES = ["AlwaysAllow", "IfHealthyBudget"];

/** metav1.Condition, the condition shape of newer APIs (observedGeneration, reason required upstream). */
export const MetaConditionSchema = Obj({
  type: Type.String(),
  status: Type.String(),
  observedGeneration: Opt(Int64()),
  lastTransitionTime: Opt(NullableTime),
  reason: Opt(Type.String()),
  message: Opt(Type.String()),
}, { title: "Condition" });

export const PodDisruptionBudgetSpecSchema = Obj({
  minAvailable: Opt(Doc(IntOrString, "Pods (a number, or a percentage of the expected pods) that must stay available through an eviction.")),
  selector: Opt(Doc(LabelSelectorSchema, "The pods this budget protects; an empty selector matches every pod in the namespace.")),
  maxUnavailable: Opt(Doc(IntOrString, "Pods (a number or a percentage) that may be unavailable after an eviction; exclusive with minAvailable.")),
  unhealthyPodEvictionPolicy: Opt(Type.String({ description: "When a running but not ready pod may be evicted: IfHealthyBudget (default) or AlwaysAllow." })),
});

export const PodDisruptionBudgetStatusSchema = Obj({
  observedGeneration: Opt(Int64()),
  disruptedPods: Opt(Type.Record(Type.String(), Time)),
  disruptionsAllowed: Opt(Int32()),
  currentHealthy: Opt(Int32()),
  desiredHealthy: Opt(Int32()),
  expectedPods: Opt(Int32()),
  conditions: Opt(Conditions(MetaConditionSchema)),
});

export const PodDisruptionBudgetSchema = TopLevel(
  { spec: Opt(PodDisruptionBudgetSpecSchema), status: Opt(PodDisruptionBudgetStatusSchema) },
  "PodDisruptionBudget is an object to define the max disruption that can be caused to a collection of pods",
);

export type PodDisruptionBudget = Static<typeof PodDisruptionBudgetSchema> & KubeObject;
export type PodDisruptionBudgetStatus = Static<typeof PodDisruptionBudgetStatusSchema>;
export type MetaCondition = Static<typeof MetaConditionSchema>;

/** ValidatePodDisruptionBudgetSpec. */
export function validatePdbSpec(spec: PodDisruptionBudget["spec"]): FieldError[] {
  const s = spec ?? {};
  const errs: FieldError[] = [];
  if (s.minAvailable !== undefined && s.maxUnavailable !== undefined)
    errs.push(fieldInvalid("spec", s, "minAvailable and maxUnavailable cannot be both set"));
  for (const f of ["minAvailable", "maxUnavailable"] as const) {
    const v = s[f];
    if (v === undefined) continue;
    errs.push(...validateIntOrPercent(v, `spec.${f}`));
    if (percentOver100(v)) errs.push(fieldInvalid(`spec.${f}`, v, "must not be greater than 100%"));
  }
  if (s.selector) errs.push(...validateLabelSelector(s.selector, "spec.selector"));
  if (s.unhealthyPodEvictionPolicy !== undefined && !UNHEALTHY_POD_EVICTION_POLICIES.includes(s.unhealthyPodEvictionPolicy))
    errs.push(fieldNotSupported("spec.unhealthyPodEvictionPolicy", s.unhealthyPodEvictionPolicy, UNHEALTHY_POD_EVICTION_POLICIES));
  return errs;
}

/** ValidatePodDisruptionBudgetStatusUpdate (policy/v1): the counts are never negative. */
export function validatePdbStatus(status: PodDisruptionBudgetStatus | undefined): FieldError[] {
  const s = status ?? {};
  return (["disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"] as const).flatMap((f) => nonNegative(s[f], `status.${f}`));
}

const intOrStringCell = (v: number | string | undefined) => (v === undefined ? "N/A" : String(v));

export const podDisruptionBudgets: ResourceDef<PodDisruptionBudget> = {
  ...KINDS.podDisruptionBudgets,
  schema: PodDisruptionBudgetSchema,
  subresources: ["status"],
  hasStatus: true,
  defaults(pdb) {
    // policy/v1 defaults nothing in the spec; the status counters read as 0 until the controller writes.
    pdb.status ??= {};
    pdb.status.disruptionsAllowed ??= 0;
    pdb.status.currentHealthy ??= 0;
    pdb.status.desiredHealthy ??= 0;
    pdb.status.expectedPods ??= 0;
  },
  validate(pdb, old) {
    const errs = validatePdbSpec(pdb.spec);
    if (old) errs.push(...validatePdbStatus(pdb.status));
    return errs;
  },
  table: {
    columns: [
      nameColumn,
      column("Min Available", "The minimum number or percentage of available pods this budget requires."),
      column("Max Unavailable", "The maximum number or percentage of unavailable pods this budget requires."),
      column("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", 0, "integer"),
      ageColumn,
    ],
    row: (pdb, now) => [
      pdb.metadata.name,
      intOrStringCell(pdb.spec?.minAvailable),
      intOrStringCell(pdb.spec?.maxUnavailable),
      pdb.status?.disruptionsAllowed ?? 0,
      age(pdb.metadata.creationTimestamp, now),
    ],
  },
};
