// autoscaling/v1 HorizontalPodAutoscaler: the stored autoscaling/v2 object as upstream serves it
// in v1 (pkg/apis/autoscaling/v1/conversion.go). v1 knows one target, CPU utilization; whatever
// else the v2 object holds rides in annotations on the v1 object, in upstream's format, so that
// a read-modify-write through v1 loses nothing:
//   autoscaling.alpha.kubernetes.io/metrics          the other spec metrics (v1 MetricSpec form)
//   autoscaling.alpha.kubernetes.io/current-metrics  status.currentMetrics (v1 MetricStatus form)
//   autoscaling.alpha.kubernetes.io/conditions       status.conditions
//   autoscaling.alpha.kubernetes.io/behavior         spec.behavior (Go field names, as upstream)
import { Type } from "@sinclair/typebox";
import { badRequest } from "../../errors";
import type { KubeObject } from "../../meta";
import type { ServedVersion } from "../../resource";
import { Obj, TopLevel } from "../../schema";
import { Int32, Int64, NullableTime } from "../common";
import type { HorizontalPodAutoscaler, HPACondition, MetricSpec, MetricStatus, MetricTarget } from "./horizontalpodautoscaler";
import { CrossVersionObjectReferenceSchema } from "./reference";

const Opt = Type.Optional;

export const HorizontalPodAutoscalerV1Schema = TopLevel(
  {
    spec: Opt(
      Obj({
        scaleTargetRef: CrossVersionObjectReferenceSchema,
        minReplicas: Opt(Int32()),
        maxReplicas: Int32(),
        targetCPUUtilizationPercentage: Opt(Int32()),
      }),
    ),
    status: Opt(
      Obj({
        observedGeneration: Opt(Int64()),
        lastScaleTime: Opt(NullableTime),
        currentReplicas: Int32(),
        desiredReplicas: Int32(),
        currentCPUUtilizationPercentage: Opt(Int32()),
      }),
    ),
  },
  "configuration of a horizontal pod autoscaler.",
);

export const METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics";
export const CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics";
export const CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions";
export const BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior";
const ROUND_TRIP = [METRICS_ANNOTATION, CURRENT_METRICS_ANNOTATION, CONDITIONS_ANNOTATION, BEHAVIOR_ANNOTATION];

type Json = Record<string, any>;
/** Copies the fields of `from` that are set, leaving out the others. */
const set = (from: Json): Json => Object.fromEntries(Object.entries(from).filter(([, v]) => v !== undefined));

// ---------------------------------------------------------------------------------------------
// Metrics: v2's {target: {type, value, averageValue, averageUtilization}} ↔ v1's flat fields.

const isCpuUtilization = (m: MetricSpec) => m.type === "Resource" && m.resource?.name === "cpu" && m.resource.target.averageUtilization !== undefined;

function metricToV1(m: MetricSpec): Json {
  const t = (x: { target: MetricTarget }) => x.target;
  const out: Json = { type: m.type };
  if (m.resource) out.resource = set({ name: m.resource.name, targetAverageUtilization: t(m.resource).averageUtilization, targetAverageValue: t(m.resource).averageValue });
  if (m.containerResource) {
    const c = m.containerResource;
    out.containerResource = set({ name: c.name, targetAverageUtilization: c.target.averageUtilization, targetAverageValue: c.target.averageValue, container: c.container });
  }
  if (m.pods) out.pods = set({ metricName: m.pods.metric.name, targetAverageValue: m.pods.target.averageValue, selector: m.pods.metric.selector });
  if (m.object) {
    const o = m.object;
    out.object = set({ target: o.describedObject, metricName: o.metric.name, targetValue: o.target.value, selector: o.metric.selector, averageValue: o.target.averageValue });
  }
  if (m.external) {
    const e = m.external;
    out.external = set({ metricName: e.metric.name, metricSelector: e.metric.selector, targetValue: e.target.value, targetAverageValue: e.target.averageValue });
  }
  return out;
}

/** The v2 target of v1's flat fields: utilization, else an average value, else a value. */
const target = (utilization: number | undefined, averageValue: unknown, value: unknown): MetricTarget =>
  utilization !== undefined
    ? set({ type: "Utilization", averageUtilization: utilization, averageValue }) as MetricTarget
    : averageValue !== undefined
      ? set({ type: "AverageValue", averageValue, value }) as MetricTarget
      : set({ type: "Value", value }) as MetricTarget;

const identifier = (name: string, selector: unknown) => set({ name, selector }) as { name: string };

function metricFromV1(m: Json): MetricSpec {
  const out: Json = { type: m.type };
  if (m.resource) out.resource = { name: m.resource.name, target: target(m.resource.targetAverageUtilization, m.resource.targetAverageValue, undefined) };
  if (m.containerResource) {
    const c = m.containerResource;
    out.containerResource = { name: c.name, target: target(c.targetAverageUtilization, c.targetAverageValue, undefined), container: c.container };
  }
  if (m.pods) out.pods = { metric: identifier(m.pods.metricName, m.pods.selector), target: target(undefined, m.pods.targetAverageValue, undefined) };
  if (m.object) out.object = { describedObject: m.object.target, metric: identifier(m.object.metricName, m.object.selector), target: target(undefined, m.object.averageValue, m.object.targetValue) };
  if (m.external) out.external = { metric: identifier(m.external.metricName, m.external.metricSelector), target: target(undefined, m.external.targetAverageValue, m.external.targetValue) };
  return out as MetricSpec;
}

function statusToV1(m: MetricStatus): Json {
  const out: Json = { type: m.type };
  if (m.resource) out.resource = set({ name: m.resource.name, currentAverageUtilization: m.resource.current.averageUtilization, currentAverageValue: m.resource.current.averageValue });
  if (m.containerResource) {
    const c = m.containerResource;
    out.containerResource = set({ name: c.name, currentAverageUtilization: c.current.averageUtilization, currentAverageValue: c.current.averageValue, container: c.container });
  }
  if (m.pods) out.pods = set({ metricName: m.pods.metric.name, currentAverageValue: m.pods.current.averageValue, selector: m.pods.metric.selector });
  if (m.object) {
    const o = m.object;
    out.object = set({ target: o.describedObject, metricName: o.metric.name, currentValue: o.current.value, selector: o.metric.selector, averageValue: o.current.averageValue });
  }
  if (m.external) {
    const e = m.external;
    out.external = set({ metricName: e.metric.name, metricSelector: e.metric.selector, currentValue: e.current.value, currentAverageValue: e.current.averageValue });
  }
  return out;
}

function statusFromV1(m: Json): MetricStatus {
  const out: Json = { type: m.type };
  const r = m.resource ?? m.containerResource;
  const current = (x: Json) => set(x);
  if (m.resource) out.resource = { name: r.name, current: current({ averageUtilization: r.currentAverageUtilization, averageValue: r.currentAverageValue }) };
  if (m.containerResource)
    out.containerResource = { name: r.name, current: current({ averageUtilization: r.currentAverageUtilization, averageValue: r.currentAverageValue }), container: r.container };
  if (m.pods) out.pods = { metric: identifier(m.pods.metricName, m.pods.selector), current: current({ averageValue: m.pods.currentAverageValue }) };
  if (m.object)
    out.object = { metric: identifier(m.object.metricName, m.object.selector), current: current({ value: m.object.currentValue, averageValue: m.object.averageValue }), describedObject: m.object.target };
  if (m.external) out.external = { metric: identifier(m.external.metricName, m.external.metricSelector), current: current({ value: m.external.currentValue, averageValue: m.external.currentAverageValue }) };
  return out as MetricStatus;
}

// Upstream writes the behavior annotation from its internal type, which has no JSON names: the
// keys are Go's field names (ScaleUp, StabilizationWindowSeconds, ...).
const renameKeys = (v: unknown, rename: (k: string) => string): unknown =>
  Array.isArray(v) ? v.map((x) => renameKeys(x, rename)) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [rename(k), renameKeys(x, rename)])) : v;
const goNames = (v: unknown) => renameKeys(v, (k) => k[0]!.toUpperCase() + k.slice(1));
const jsonNames = (v: unknown) => renameKeys(v, (k) => k[0]!.toLowerCase() + k.slice(1));

// ---------------------------------------------------------------------------------------------

/** The stored (v2) object as autoscaling/v1 shows it. */
export function hpaToV1(obj: KubeObject): KubeObject {
  const hpa = obj as HorizontalPodAutoscaler;
  const annotations: Record<string, string> = { ...hpa.metadata.annotations };
  for (const a of ROUND_TRIP) delete annotations[a];
  const out: Json = { ...hpa, apiVersion: "autoscaling/v1", metadata: { ...hpa.metadata } };
  const spec = hpa.spec;
  if (spec) {
    const cpu = spec.metrics?.find(isCpuUtilization);
    const others = (spec.metrics ?? []).filter((m) => !isCpuUtilization(m));
    if (others.length) annotations[METRICS_ANNOTATION] = JSON.stringify(others.map(metricToV1));
    if (spec.behavior) annotations[BEHAVIOR_ANNOTATION] = JSON.stringify(goNames(spec.behavior));
    out.spec = set({ scaleTargetRef: spec.scaleTargetRef, minReplicas: spec.minReplicas, maxReplicas: spec.maxReplicas, targetCPUUtilizationPercentage: cpu?.resource!.target.averageUtilization });
  }
  const st = hpa.status;
  if (st) {
    const cpu = st.currentMetrics?.find((m) => m.type === "Resource" && m.resource?.name === "cpu" && m.resource.current.averageUtilization !== undefined);
    if (st.currentMetrics?.length) annotations[CURRENT_METRICS_ANNOTATION] = JSON.stringify(st.currentMetrics.map(statusToV1));
    if (st.conditions?.length) annotations[CONDITIONS_ANNOTATION] = JSON.stringify(st.conditions);
    out.status = set({
      observedGeneration: st.observedGeneration,
      lastScaleTime: st.lastScaleTime,
      currentReplicas: st.currentReplicas ?? 0,
      desiredReplicas: st.desiredReplicas,
      currentCPUUtilizationPercentage: cpu?.resource!.current.averageUtilization,
    });
  }
  if (Object.keys(annotations).length) out.metadata.annotations = annotations;
  else delete out.metadata.annotations;
  return out as KubeObject;
}

function annotationJson(annotations: Record<string, string>, name: string): unknown {
  const text = annotations[name];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(`the annotation ${name} is not valid JSON`);
  }
}

const listOf = (v: unknown, name: string): Json[] | undefined => {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => !x || typeof x !== "object")) throw badRequest(`the annotation ${name} must hold a JSON list of objects`);
  return v;
};

/** An autoscaling/v1 object as stored (v2), with what the annotations carry put back in place. */
export function hpaFromV1(obj: KubeObject): KubeObject {
  const v1 = obj as Json;
  const annotations: Record<string, string> = { ...(obj.metadata.annotations ?? {}) };
  const others = listOf(annotationJson(annotations, METRICS_ANNOTATION), METRICS_ANNOTATION);
  const current = listOf(annotationJson(annotations, CURRENT_METRICS_ANNOTATION), CURRENT_METRICS_ANNOTATION);
  const conditions = listOf(annotationJson(annotations, CONDITIONS_ANNOTATION), CONDITIONS_ANNOTATION);
  const behavior = annotationJson(annotations, BEHAVIOR_ANNOTATION);
  if (behavior !== undefined && (!behavior || typeof behavior !== "object" || Array.isArray(behavior))) throw badRequest(`the annotation ${BEHAVIOR_ANNOTATION} must hold a JSON object`);
  for (const a of ROUND_TRIP) delete annotations[a];
  const out: Json = { ...v1, apiVersion: "autoscaling/v2", metadata: { ...obj.metadata } };
  if (Object.keys(annotations).length) out.metadata.annotations = annotations;
  else delete out.metadata.annotations;
  if (v1.spec && typeof v1.spec === "object") {
    const { targetCPUUtilizationPercentage: cpu, ...rest } = v1.spec as Json;
    const metrics: MetricSpec[] = [];
    if (cpu !== undefined) metrics.push({ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: cpu } } });
    metrics.push(...(others ?? []).map(metricFromV1));
    out.spec = set({ ...rest, metrics: metrics.length ? metrics : undefined, behavior: behavior === undefined ? undefined : jsonNames(behavior) });
  }
  if (v1.status && typeof v1.status === "object") {
    const { currentCPUUtilizationPercentage: cpu, ...rest } = v1.status as Json;
    const currentMetrics: MetricStatus[] | undefined = current
      ? current.map(statusFromV1)
      : cpu !== undefined
        ? [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: cpu } } }]
        : undefined;
    out.status = set({ ...rest, currentMetrics, conditions: conditions as HPACondition[] | undefined });
  }
  return out as KubeObject;
}

export const hpaV1: ServedVersion = { version: "v1", schema: HorizontalPodAutoscalerV1Schema, toStored: hpaFromV1, fromStored: hpaToV1 };
