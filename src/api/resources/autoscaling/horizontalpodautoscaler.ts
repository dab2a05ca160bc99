// autoscaling/v2 HorizontalPodAutoscaler: keeps the replica count of anything with a scale
// subresource between minReplicas and maxReplicas, from the usage of its pods against a target.
// The horizontal pod autoscaler controller fills its status. autoscaling/v1 serves the same
// stored object through the conversion in hpa-v1.ts.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import { KINDS } from "../../kinds";
import type { KubeObject } from "../../meta";
import { formatQuantity, parseQuantity, tryParseQuantity } from "../../quantity";
import type { ResourceDef } from "../../resource";
import { LabelSelectorSchema, Obj, Quantity, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, isDns1123Subdomain, validateLabelSelector } from "../../validation";
import { Conditions, Int32, Int64, NullableTime } from "../common";
import { hpaV1 } from "./hpa-v1";
import { CrossVersionObjectReferenceSchema } from "./reference";

const Opt = Type.Optional;

export { CrossVersionObjectReferenceSchema };
const MetricTargetSchema = Obj({ type: Type.String(), value: Opt(Quantity), averageValue: Opt(Quantity), averageUtilization: Opt(Int32()) });
const MetricValueStatusSchema = Obj({ value: Opt(Quantity), averageValue: Opt(Quantity), averageUtilization: Opt(Int32()) });
const MetricIdentifierSchema = Obj({ name: Type.String(), selector: Opt(LabelSelectorSchema) });

const ResourceMetricSourceSchema = Obj({ name: Type.String(), target: MetricTargetSchema });
const ContainerResourceMetricSourceSchema = Obj({ name: Type.String(), target: MetricTargetSchema, container: Type.String() });
const PodsMetricSourceSchema = Obj({ metric: MetricIdentifierSchema, target: MetricTargetSchema });
const ObjectMetricSourceSchema = Obj({ describedObject: CrossVersionObjectReferenceSchema, target: MetricTargetSchema, metric: MetricIdentifierSchema });
const ExternalMetricSourceSchema = Obj({ metric: MetricIdentifierSchema, target: MetricTargetSchema });

export const MetricSpecSchema = Obj({
  type: Type.String(),
  object: Opt(ObjectMetricSourceSchema),
  pods: Opt(PodsMetricSourceSchema),
  resource: Opt(ResourceMetricSourceSchema),
  containerResource: Opt(ContainerResourceMetricSourceSchema),
  external: Opt(ExternalMetricSourceSchema),
});

export const MetricStatusSchema = Obj({
  type: Type.String(),
  object: Opt(Obj({ metric: MetricIdentifierSchema, current: MetricValueStatusSchema, describedObject: CrossVersionObjectReferenceSchema })),
  pods: Opt(Obj({ metric: MetricIdentifierSchema, current: MetricValueStatusSchema })),
  resource: Opt(Obj({ name: Type.String(), current: MetricValueStatusSchema })),
  containerResource: Opt(Obj({ name: Type.String(), current: MetricValueStatusSchema, container: Type.String() })),
  external: Opt(Obj({ metric: MetricIdentifierSchema, current: MetricValueStatusSchema })),
});

const HPAScalingPolicySchema = Obj({ type: Type.String(), value: Int32(), periodSeconds: Int32() });
export const HPAScalingRulesSchema = Obj({
  stabilizationWindowSeconds: Opt(Int32()),
  selectPolicy: Opt(Type.String()),
  policies: Opt(Type.Array(HPAScalingPolicySchema)),
  tolerance: Opt(Quantity),
});

export const HorizontalPodAutoscalerConditionSchema = Obj({
  type: Type.String(),
  status: Type.String(),
  lastTransitionTime: Opt(NullableTime),
  reason: Opt(Type.String()),
  message: Opt(Type.String()),
});

export const HorizontalPodAutoscalerSpecSchema = Obj({
  scaleTargetRef: CrossVersionObjectReferenceSchema,
  minReplicas: Opt(Int32()),
  maxReplicas: Int32(),
  metrics: Opt(Type.Array(MetricSpecSchema)),
  behavior: Opt(Obj({ scaleUp: Opt(HPAScalingRulesSchema), scaleDown: Opt(HPAScalingRulesSchema) })),
});

export const HorizontalPodAutoscalerStatusSchema = Obj({
  observedGeneration: Opt(Int64()),
  lastScaleTime: Opt(NullableTime),
  currentReplicas: Opt(Int32()),
  desiredReplicas: Int32(),
  currentMetrics: Opt(Type.Array(MetricStatusSchema)),
  conditions: Opt(Conditions(HorizontalPodAutoscalerConditionSchema)),
});

export const HorizontalPodAutoscalerSchema = TopLevel(
  { spec: Opt(HorizontalPodAutoscalerSpecSchema), status: Opt(HorizontalPodAutoscalerStatusSchema) },
  "HorizontalPodAutoscaler is the configuration for a horizontal pod autoscaler, which automatically manages the replica count of any resource implementing the scale subresource based on the metrics specified.",
);

export type HorizontalPodAutoscaler = Static<typeof HorizontalPodAutoscalerSchema> & KubeObject;
export type HPASpec = Static<typeof HorizontalPodAutoscalerSpecSchema>;
export type HPAStatus = Static<typeof HorizontalPodAutoscalerStatusSchema>;
export type MetricSpec = Static<typeof MetricSpecSchema>;
export type MetricStatus = Static<typeof MetricStatusSchema>;
export type MetricTarget = Static<typeof MetricTargetSchema>;
export type HPAScalingRules = Static<typeof HPAScalingRulesSchema>;
export type HPACondition = Static<typeof HorizontalPodAutoscalerConditionSchema>;
export type CrossVersionObjectReference = Static<typeof CrossVersionObjectReferenceSchema>;

export const DEFAULT_CPU_UTILIZATION = 80;
export const METRIC_SOURCE_TYPES = ["ContainerResource", "External", "Object", "Pods", "Resource"];
const TARGET_TYPES = ["Utilization", "Value", "AverageValue"];
const SELECT_POLICIES = ["Disabled", "Max", "Min"];
const POLICY_TYPES = ["Percent", "Pods"];
const MAX_PERIOD_SECONDS = 1800;
const MAX_STABILIZATION_WINDOW_SECONDS = 3600;

/** Upstream's scale-up rules when none are given: +4 pods or +100% per 15 s, no stabilization. */
export const defaultScaleUp = (): HPAScalingRules => ({
  stabilizationWindowSeconds: 0,
  selectPolicy: "Max",
  policies: [
    { type: "Pods", value: 4, periodSeconds: 15 },
    { type: "Percent", value: 100, periodSeconds: 15 },
  ],
});

/** Upstream's scale-down rules: down to minReplicas at once, the highest recommendation of 300 s. */
export const defaultScaleDown = (stabilizationWindowSeconds = 300): HPAScalingRules => ({
  stabilizationWindowSeconds,
  selectPolicy: "Max",
  policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
});

function fillRules(rules: HPAScalingRules | undefined, dflt: HPAScalingRules): HPAScalingRules {
  const r = rules ?? {};
  r.stabilizationWindowSeconds ??= dflt.stabilizationWindowSeconds;
  r.selectPolicy ??= dflt.selectPolicy;
  if (!r.policies?.length) r.policies = dflt.policies;
  return r;
}

/** SetDefaults_HorizontalPodAutoscaler (v2): minReplicas 1, 80% CPU, and the behavior's rules when it is set. */
export function defaultHpa(hpa: HorizontalPodAutoscaler): void {
  const spec = hpa.spec;
  if (!spec) return;
  spec.minReplicas ??= 1;
  if (!spec.metrics?.length)
    spec.metrics = [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: DEFAULT_CPU_UTILIZATION } } }];
  if (spec.behavior) {
    spec.behavior.scaleUp = fillRules(spec.behavior.scaleUp, defaultScaleUp());
    spec.behavior.scaleDown = fillRules(spec.behavior.scaleDown, defaultScaleDown());
  }
}

const positiveQuantity = (v: string | number | undefined, path: string): FieldError[] => {
  if (v === undefined) return [];
  const q = tryParseQuantity(v);
  if (!q) return [fieldInvalid(path, v, "must match the regex ^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")];
  return q.nano > 0n ? [] : [fieldInvalid(path, v, "must be positive")];
};

/** ValidateCrossVersionObjectReference. */
export function validateScaleTargetRef(ref: CrossVersionObjectReference | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!ref?.kind) errs.push(fieldRequired(`${path}.kind`));
  else errs.push(...pathSegment(ref.kind, `${path}.kind`));
  if (!ref?.name) errs.push(fieldRequired(`${path}.name`));
  else errs.push(...pathSegment(ref.name, `${path}.name`));
  return errs;
}

/** path.IsValidPathSegmentName. */
function pathSegment(v: string, path: string): FieldError[] {
  if (v === "." || v === "..") return [fieldInvalid(path, v, `may not be '${v}'`)];
  for (const c of ["/", "%"]) if (v.includes(c)) return [fieldInvalid(path, v, `may not contain '${c}'`)];
  return [];
}

function validateTarget(t: MetricTarget | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!t) return [fieldRequired(path, "must specify a metric target")];
  if (!t.type) errs.push(fieldRequired(`${path}.type`, "must specify a metric target type"));
  else if (!TARGET_TYPES.includes(t.type)) errs.push(fieldInvalid(`${path}.type`, t.type, "must be either Utilization, Value, or AverageValue"));
  errs.push(...positiveQuantity(t.value, `${path}.value`), ...positiveQuantity(t.averageValue, `${path}.averageValue`));
  if (t.averageUtilization !== undefined && t.averageUtilization < 1) errs.push(fieldInvalid(`${path}.averageUtilization`, t.averageUtilization, "must be greater than 0"));
  return errs;
}

function validateResourceTarget(name: string | undefined, t: MetricTarget | undefined, path: string, kind: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!name) errs.push(fieldRequired(`${path}.name`, "must specify a resource name"));
  errs.push(...validateTarget(t, `${path}.target`));
  if (!t) return errs;
  if (t.averageUtilization === undefined && t.averageValue === undefined)
    errs.push(fieldRequired(`${path}.target.averageUtilization`, "must set either a target raw value or a target utilization"));
  if (t.averageUtilization !== undefined && t.averageValue !== undefined)
    errs.push(fieldForbidden(`${path}.target.averageValue`, "may not set both a target raw value and a target utilization"));
  if (t.value !== undefined) errs.push(fieldForbidden(`${path}.target.value`, `may not set a target value for metric type ${kind}`));
  return errs;
}

function validateMetricIdentifier(id: { name?: string; selector?: unknown } | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!id?.name) errs.push(fieldRequired(`${path}.name`, "must specify a metric name"));
  else errs.push(...isDns1123Subdomain(id.name).map((m) => fieldInvalid(`${path}.name`, id.name, m)));
  if (id?.selector) errs.push(...validateLabelSelector(id.selector as never, `${path}.selector`));
  return errs;
}

const SOURCE_FIELDS = { Object: "object", Pods: "pods", Resource: "resource", ContainerResource: "containerResource", External: "external" } as const;

/** validateMetricSpec. */
function validateMetric(m: MetricSpec, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!m.type) return [fieldRequired(`${path}.type`, "must specify a metric source type")];
  if (!METRIC_SOURCE_TYPES.includes(m.type)) return [fieldNotSupported(`${path}.type`, m.type, METRIC_SOURCE_TYPES)];
  const own = SOURCE_FIELDS[m.type as keyof typeof SOURCE_FIELDS];
  const set = Object.values(SOURCE_FIELDS).filter((f) => m[f] !== undefined);
  if (m[own] === undefined) errs.push(fieldRequired(`${path}.${own}`, "must populate information for the given metric source"));
  if (set.some((f) => f !== own)) errs.push(fieldForbidden(path, "must populate the given metric source only"));
  const p = `${path}.${own}`;
  if (m.type === "Resource" && m.resource) errs.push(...validateResourceTarget(m.resource.name, m.resource.target, p, "Resource"));
  if (m.type === "ContainerResource" && m.containerResource) {
    errs.push(...validateResourceTarget(m.containerResource.name, m.containerResource.target, p, "ContainerResource"));
    if (!m.containerResource.container) errs.push(fieldRequired(`${p}.container`, "must specify a container"));
  }
  if (m.type === "Pods" && m.pods) {
    errs.push(...validateMetricIdentifier(m.pods.metric, `${p}.metric`), ...validateTarget(m.pods.target, `${p}.target`));
    if (m.pods.target && m.pods.target.averageValue === undefined) errs.push(fieldRequired(`${p}.target.averageValue`, "must specify a positive target averageValue"));
  }
  if (m.type === "Object" && m.object) {
    errs.push(...validateScaleTargetRef(m.object.describedObject, `${p}.describedObject`), ...validateMetricIdentifier(m.object.metric, `${p}.metric`), ...validateTarget(m.object.target, `${p}.target`));
    if (m.object.target && m.object.target.value === undefined && m.object.target.averageValue === undefined)
      errs.push(fieldRequired(`${p}.target.averageValue`, "must set either a target value or averageValue"));
  }
  if (m.type === "External" && m.external) {
    errs.push(...validateMetricIdentifier(m.external.metric, `${p}.metric`), ...validateTarget(m.external.target, `${p}.target`));
    const t = m.external.target;
    if (t && t.value === undefined && t.averageValue === undefined) errs.push(fieldRequired(`${p}.target.value`, "must set either a target value for metric or a per-pod target"));
    if (t && t.value !== undefined && t.averageValue !== undefined) errs.push(fieldForbidden(`${p}.target.value`, "may not set both a target value for metric and a per-pod target"));
  }
  return errs;
}

function validateRules(r: HPAScalingRules | undefined, path: string): FieldError[] {
  if (!r) return [];
  const errs: FieldError[] = [];
  const w = r.stabilizationWindowSeconds;
  if (w !== undefined && w < 0) errs.push(fieldInvalid(`${path}.stabilizationWindowSeconds`, w, "must be greater than or equal to zero"));
  if (w !== undefined && w > MAX_STABILIZATION_WINDOW_SECONDS)
    errs.push(fieldInvalid(`${path}.stabilizationWindowSeconds`, w, `must be less than or equal to ${MAX_STABILIZATION_WINDOW_SECONDS}`));
  if (r.selectPolicy !== undefined && !SELECT_POLICIES.includes(r.selectPolicy)) errs.push(fieldNotSupported(`${path}.selectPolicy`, r.selectPolicy, SELECT_POLICIES));
  if (!r.policies?.length) errs.push(fieldRequired(`${path}.policies`, "must specify at least one Policy"));
  (r.policies ?? []).forEach((p, i) => {
    const pp = `${path}.policies[${i}]`;
    if (!POLICY_TYPES.includes(p.type)) errs.push(fieldNotSupported(`${pp}.type`, p.type, POLICY_TYPES));
    if (!(p.value > 0)) errs.push(fieldInvalid(`${pp}.value`, p.value, "must be greater than zero"));
    if (!(p.periodSeconds > 0)) errs.push(fieldInvalid(`${pp}.periodSeconds`, p.periodSeconds, "must be greater than zero"));
    if (p.periodSeconds > MAX_PERIOD_SECONDS) errs.push(fieldInvalid(`${pp}.periodSeconds`, p.periodSeconds, `must be less than or equal to ${MAX_PERIOD_SECONDS}`));
  });
  if (r.tolerance !== undefined) {
    const q = tryParseQuantity(r.tolerance);
    if (!q || q.nano < 0n) errs.push(fieldInvalid(`${path}.tolerance`, r.tolerance, "must be greater than or equal to 0"));
  }
  return errs;
}

/** ValidateHorizontalPodAutoscaler (spec) and its status update rules. */
export function validateHpa(hpa: HorizontalPodAutoscaler): FieldError[] {
  const s = hpa.spec;
  if (!s) return [fieldRequired("spec")];
  const errs = validateScaleTargetRef(s.scaleTargetRef, "spec.scaleTargetRef");
  if (s.minReplicas !== undefined && s.minReplicas < 1) errs.push(fieldInvalid("spec.minReplicas", s.minReplicas, "must be greater than or equal to 1"));
  if (!(s.maxReplicas >= 1)) errs.push(fieldInvalid("spec.maxReplicas", s.maxReplicas, "must be greater than 0"));
  if (s.minReplicas !== undefined && s.maxReplicas < s.minReplicas) errs.push(fieldInvalid("spec.maxReplicas", s.maxReplicas, "must be greater than or equal to `minReplicas`"));
  (s.metrics ?? []).forEach((m, i) => errs.push(...validateMetric(m, `spec.metrics[${i}]`)));
  if (s.behavior) {
    errs.push(...validateRules(s.behavior.scaleUp, "spec.behavior.scaleUp"), ...validateRules(s.behavior.scaleDown, "spec.behavior.scaleDown"));
  }
  const st = hpa.status;
  if (st?.currentReplicas !== undefined && st.currentReplicas < 0) errs.push(fieldInvalid("status.currentReplicas", st.currentReplicas, "must be greater than or equal to 0"));
  if (st && st.desiredReplicas < 0) errs.push(fieldInvalid("status.desiredReplicas", st.desiredReplicas, "must be greater than or equal to 0"));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// The table: upstream's printer (TARGETS like "cpu: 45%/50%").

const quantityText = (v: string | number | undefined) => (v === undefined ? "<unknown>" : formatQuantity(parseQuantity(v)));

function targetText(name: string, spec: MetricTarget, current: { averageValue?: string | number; averageUtilization?: number; value?: string | number } | undefined): string {
  if (spec.type === "Utilization" || spec.averageUtilization !== undefined) {
    const cur = current?.averageUtilization !== undefined ? `${current.averageUtilization}%` : "<unknown>";
    return `${name}${cur}/${spec.averageUtilization}%`;
  }
  if (spec.type === "AverageValue") return `${name}${quantityText(current?.averageValue)}/${quantityText(spec.averageValue)}`;
  return `${name}${quantityText(current?.value)}/${quantityText(spec.value)}`;
}

/** formatHPAMetrics: one entry per spec metric, with its current value from the status. */
export function formatHpaTargets(hpa: HorizontalPodAutoscaler): string {
  const specs = hpa.spec?.metrics ?? [];
  if (!specs.length) return "<none>";
  const statuses = hpa.status?.currentMetrics ?? [];
  const list = specs.map((m, i) => {
    const st = statuses[i];
    switch (m.type) {
      case "Resource":
        return m.resource ? targetText(`${m.resource.name}: `, m.resource.target, st?.resource?.current) : "<unknown>";
      case "ContainerResource":
        return m.containerResource ? targetText(`${m.containerResource.name}: `, m.containerResource.target, st?.containerResource?.current) : "<unknown>";
      case "Pods":
        return m.pods ? targetText(`${m.pods.metric.name}: `, m.pods.target, st?.pods?.current) : "<unknown>";
      case "Object":
        return m.object ? targetText(`${m.object.metric.name}: `, m.object.target, st?.object?.current) : "<unknown>";
      case "External":
        return m.external ? targetText(`${m.external.metric.name}: `, m.external.target, st?.external?.current) : "<unknown>";
      default:
        return "<unknown type>";
    }
  });
  const max = 2;
  return list.length > max ? `${list.slice(0, max).join(", ")} + ${list.length - max} more...` : list.join(", ");
}

export const horizontalPodAutoscalers: ResourceDef<HorizontalPodAutoscaler> = {
  ...KINDS.horizontalPodAutoscalers,
  schema: HorizontalPodAutoscalerSchema,
  subresources: ["status"],
  hasStatus: true,
  versions: [hpaV1],
  defaults(hpa) {
    defaultHpa(hpa);
    if (hpa.status) hpa.status.desiredReplicas ??= 0;
  },
  validate: (hpa) => validateHpa(hpa),
  table: {
    columns: [
      nameColumn,
      column("Reference", "The reference to the target resource."),
      column("Targets", "The metric targets and their current values."),
      column("MinPods", "Lower limit of the replica count."),
      column("MaxPods", "Upper limit of the replica count.", 0, "integer"),
      column("Replicas", "Current number of replicas.", 0, "integer"),
      ageColumn,
    ],
    row: (hpa, now) => [
      hpa.metadata.name,
      `${hpa.spec?.scaleTargetRef.kind}/${hpa.spec?.scaleTargetRef.name}`,
      formatHpaTargets(hpa),
      hpa.spec?.minReplicas === undefined ? "<unset>" : String(hpa.spec.minReplicas),
      hpa.spec?.maxReplicas ?? 0,
      hpa.status?.currentReplicas ?? 0,
      age(hpa.metadata.creationTimestamp, now),
    ],
  },
};
