// The horizontal pod autoscaler controller, as upstream's pkg/controller/podautoscaler: every
// sync period each HorizontalPodAutoscaler reads its target's scale subresource, the usage of
// the target's pods from metrics.k8s.io (served by this API server itself, reached through the
// controllers' in-process client), computes the replicas each metric asks for (replicas.ts),
// keeps the highest, applies the behavior (behavior.ts) and minReplicas/maxReplicas, writes the
// target's scale when it changes, and reports status, conditions and events.
// Resource and ContainerResource metrics are supported; Pods, Object and External metrics need
// a custom or external metrics API, which bramble does not serve: they make ScalingActive False.
import { ApiError } from "../../../api/errors";
import { findResourceByKind } from "../../../api/registry";
import { parseQuantity, quantityNumber } from "../../../api/quantity";
import { parseLabelSelector } from "../../../api/selectors";
import {
  defaultScaleDown,
  defaultScaleUp,
  horizontalPodAutoscalers as hpaDef,
  type HorizontalPodAutoscaler,
  type HPACondition,
  type HPAScalingRules,
  type MetricSpec,
  type MetricStatus,
} from "../../../api/resources/autoscaling/horizontalpodautoscaler";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import type { KubeClient, ResourceRef } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { objectKeyOf, type Informer } from "../../../client/informer";
import { ControlLoop, type ReconcileResult, type Reconciler } from "../../../machinery/controlloop";
import { createLogger } from "../../../machinery/log";
import type { SharedInformers } from "../informers";
import { NamespaceIndex } from "../nsindex";
import { normalize, pruneEvents, type Recommendation, type ScaleEvent } from "./behavior";
import { MetricsError, podRequests, resourceReplicas, type CalculatorOptions, type PodMetric } from "./replicas";

const log = createLogger("horizontal-pod-autoscaler");

export interface HpaControllerOptions {
  informers: SharedInformers;
  /** --horizontal-pod-autoscaler-sync-period (default 15 s). */
  syncPeriodMs?: number;
  /** --horizontal-pod-autoscaler-tolerance (default 0.1). */
  tolerance?: number;
  /** --horizontal-pod-autoscaler-downscale-stabilization: the scale-down window of an HPA without behavior (default 5 min). */
  downscaleStabilizationMs?: number;
  /** --horizontal-pod-autoscaler-cpu-initialization-period (default 5 min). */
  cpuInitializationPeriodMs?: number;
  /** --horizontal-pod-autoscaler-initial-readiness-delay (default 30 s). */
  initialReadinessDelayMs?: number;
  now?: () => number;
}

interface Scale {
  metadata?: { resourceVersion?: string };
  spec?: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

interface PodMetricsObject {
  metadata: { name: string };
  timestamp: string;
  window: string;
  containers: { name: string; usage: Record<string, string> }[];
}

/** What the controller remembers of each autoscaler between syncs (upstream keeps the same in memory). */
interface HpaMemory {
  recommendations: Recommendation[];
  scaleUpEvents: ScaleEvent[];
  scaleDownEvents: ScaleEvent[];
  lastSyncMs: number;
  generation?: number;
}

const timestamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const durationMs = (d: string) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(d);
  return m ? Number(m[1]) * (m[2] === "ms" ? 1 : m[2] === "s" ? 1000 : 60_000) : 0;
};

export class HorizontalPodAutoscalerController implements Reconciler {
  readonly name = "horizontal-pod-autoscaler";
  readonly loop: ControlLoop;
  private readonly hpaInformer: Informer<HorizontalPodAutoscaler>;
  private readonly podInformer: Informer<Pod>;
  private readonly pods: NamespaceIndex<Pod>;
  private readonly recorder: EventRecorder;
  private readonly memory = new Map<string, HpaMemory>();
  private readonly syncPeriodMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: KubeClient,
    private readonly o: HpaControllerOptions,
  ) {
    this.syncPeriodMs = o.syncPeriodMs ?? 15_000;
    this.now = o.now ?? Date.now;
    this.hpaInformer = o.informers.get<HorizontalPodAutoscaler>(hpaDef);
    this.podInformer = o.informers.get<Pod>(podsDef);
    this.pods = NamespaceIndex.of(this.podInformer, o.informers);
    this.recorder = new EventRecorder(client, "horizontal-pod-autoscaler");
    this.loop = new ControlLoop(this, 1);
    const enqueue = (h: HorizontalPodAutoscaler) => this.loop.enqueue(objectKeyOf(h));
    o.informers.on(this.hpaInformer, { add: enqueue, update: (_, h) => enqueue(h), delete: enqueue });
  }

  async start() {
    await Promise.all([this.o.informers.start(this.hpaInformer), this.o.informers.start(this.podInformer)]);
    this.loop.start();
  }

  stop() {
    return this.loop.stop();
  }

  /**
   * The resource a scaleTargetRef names, if it has a scale subresource: a built-in kind from the
   * registry, else a custom resource from discovery (its group-version's resource list names
   * `<plural>/scale` when its CRD declares the subresource).
   */
  private async scaleTarget(apiVersion: string, kind: string): Promise<ResourceRef | undefined> {
    const def = findResourceByKind(apiVersion, kind);
    if (def) return def.subresources.includes("scale") ? def : undefined;
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    if (!group || !version) return undefined;
    const list = await this.client.json<{ resources?: { name: string; kind: string; namespaced: boolean }[] }>("GET", `/apis/${group}/${version}`).catch(() => undefined);
    const main = list?.resources?.find((r) => r.kind === kind && !r.name.includes("/"));
    if (!main || !list!.resources!.some((r) => r.name === `${main.name}/scale`)) return undefined;
    return { group, version, plural: main.name, namespaced: main.namespaced };
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const hpa = this.hpaInformer.get(key);
    if (!hpa || hpa.metadata.deletionTimestamp) {
      this.memory.delete(key);
      return;
    }
    const now = this.now();
    let mem = this.memory.get(key);
    if (!mem) this.memory.set(key, (mem = { recommendations: [], scaleUpEvents: [], scaleDownEvents: [], lastSyncMs: 0 }));
    // Our own status writes come back as updates: sync only once per period unless the spec changed.
    const due = mem.lastSyncMs + this.syncPeriodMs;
    if (now < due && mem.generation === hpa.metadata.generation) return { requeueAfterMs: due - now };
    mem.lastSyncMs = now;
    mem.generation = hpa.metadata.generation;
    try {
      await this.sync(hpa, mem, now);
    } catch (e) {
      if (!(e instanceof ApiError) || (e.code !== 404 && e.code !== 409)) log.warn("autoscaler sync failed", { hpa: key, err: String(e) });
    }
    return { requeueAfterMs: this.syncPeriodMs };
  }

  private async sync(hpa: HorizontalPodAutoscaler, mem: HpaMemory, now: number): Promise<void> {
    const ns = hpa.metadata.namespace!;
    const spec = hpa.spec!;
    const ref = spec.scaleTargetRef;
    const conditions: HPACondition[] = [];
    const set = (type: string, status: "True" | "False", reason: string, message: string) => setCondition(hpa.status?.conditions, conditions, type, status, reason, message, now);
    const status = (currentReplicas: number, desiredReplicas: number, metrics: MetricStatus[] | undefined, rescaled: boolean) =>
      this.writeStatus(hpa, {
        observedGeneration: hpa.metadata.generation,
        lastScaleTime: rescaled ? timestamp(now) : hpa.status?.lastScaleTime,
        currentReplicas,
        desiredReplicas,
        ...(metrics?.length && { currentMetrics: metrics }),
        conditions: mergeConditions(hpa.status?.conditions, conditions),
      });

    let def: ResourceRef | undefined;
    let scale: Scale;
    try {
      def = await this.scaleTarget(ref.apiVersion ?? "", ref.kind);
      if (!def) throw new Error(`no scale subresource for ${ref.apiVersion ? `${ref.kind}.${ref.apiVersion}` : ref.kind}`);
      scale = await this.client.json<Scale>("GET", this.client.resource(def).path(ns, ref.name, "scale"));
    } catch (e) {
      const msg = e instanceof ApiError || e instanceof Error ? e.message : String(e);
      this.recorder.event(hpa, "Warning", "FailedGetScale", msg);
      set("AbleToScale", "False", "FailedGetScale", `the HPA controller was unable to get the target's current scale: ${msg}`);
      await status(hpa.status?.currentReplicas ?? 0, hpa.status?.desiredReplicas ?? 0, hpa.status?.currentMetrics, false);
      return;
    }
    set("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale");
    const current = scale.spec?.replicas ?? 0;
    const min = spec.minReplicas ?? 1;
    const max = spec.maxReplicas;
    let desired = 0;
    let reason = "";
    let metricStatuses: MetricStatus[] | undefined = hpa.status?.currentMetrics;

    if (current === 0 && min !== 0) {
      set("ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero");
    } else if (current > max) {
      desired = max;
      reason = "Current number of replicas above Spec.MaxReplicas";
    } else if (current < min) {
      desired = min;
      reason = "Current number of replicas below Spec.MinReplicas";
    } else {
      const computed = await this.computeReplicas(hpa, scale, current, now);
      metricStatuses = computed.statuses;
      if (computed.error) {
        this.recorder.event(hpa, "Warning", computed.error.reason, computed.error.message);
        this.recorder.event(hpa, "Warning", "FailedComputeMetricsReplicas", `invalid metrics (${computed.invalid} invalid out of ${spec.metrics?.length ?? 0}), first error is: ${computed.error.message}`);
      }
      if (computed.replicas === undefined) {
        set("ScalingActive", "False", computed.error!.reason, `the HPA was unable to compute the replica count: ${computed.error!.message}`);
        await status(current, hpa.status?.desiredReplicas ?? current, metricStatuses, false);
        return;
      }
      set("ScalingActive", "True", "ValidMetricFound", `the HPA was able to successfully calculate a replica count from ${computed.metricName}`);
      const behavior = spec.behavior;
      const scaleUp: HPAScalingRules = behavior?.scaleUp ?? defaultScaleUp();
      const scaleDown: HPAScalingRules = behavior?.scaleDown ?? defaultScaleDown(Math.round((this.o.downscaleStabilizationMs ?? 300_000) / 1000));
      mem.scaleUpEvents = pruneEvents(mem.scaleUpEvents, scaleUp, now);
      mem.scaleDownEvents = pruneEvents(mem.scaleDownEvents, scaleDown, now);
      const n = normalize({
        currentReplicas: current,
        desiredReplicas: computed.replicas,
        minReplicas: min,
        maxReplicas: max,
        scaleUp,
        scaleDown,
        recommendations: mem.recommendations,
        scaleUpEvents: mem.scaleUpEvents,
        scaleDownEvents: mem.scaleDownEvents,
        now,
      });
      set("AbleToScale", "True", n.stabilized.reason, n.stabilized.message);
      set("ScalingLimited", n.limited.reason === "DesiredWithinRange" ? "False" : "True", n.limited.reason, n.limited.message);
      desired = n.replicas;
      reason = desired > current ? `${computed.metricName} above target` : "All metrics below target";
    }

    const rescale = desired !== current && !(current === 0 && min !== 0);
    if (rescale) {
      try {
        const next = { ...scale, apiVersion: "autoscaling/v1", kind: "Scale", spec: { ...scale.spec, replicas: desired } };
        await this.client.json("PUT", this.client.resource(def!).path(ns, ref.name, "scale"), next);
      } catch (e) {
        const msg = (e as Error).message;
        this.recorder.event(hpa, "Warning", "FailedRescale", `New size: ${desired}; reason: ${reason}; error: ${msg}`);
        set("AbleToScale", "False", "FailedUpdateScale", `the HPA controller was unable to update the target scale: ${msg}`);
        await status(current, desired, metricStatuses, false);
        return;
      }
      set("AbleToScale", "True", "SucceededRescale", `the HPA controller was able to update the target scale to ${desired}`);
      this.recorder.event(hpa, "Normal", "SuccessfulRescale", `New size: ${desired}; reason: ${reason}`);
      (desired > current ? mem.scaleUpEvents : mem.scaleDownEvents).push({ atMs: now, change: Math.abs(desired - current) });
      log.info("rescaled", { hpa: `${ns}/${hpa.metadata.name}`, from: current, to: desired, reason });
    }
    await status(current, rescale ? desired : current === 0 && min !== 0 ? 0 : desired, metricStatuses, rescale);
  }

  /** computeReplicasForMetrics: the highest count any valid metric asks for, and each metric's status. */
  private async computeReplicas(hpa: HorizontalPodAutoscaler, scale: Scale, current: number, now: number): Promise<{ replicas?: number; metricName: string; statuses: MetricStatus[]; error?: { reason: string; message: string }; invalid: number }> {
    const ns = hpa.metadata.namespace!;
    const statuses: MetricStatus[] = [];
    let replicas: number | undefined;
    let metricName = "";
    let error: { reason: string; message: string } | undefined;
    let invalid = 0;
    const selector = scale.status?.selector;
    const opts: CalculatorOptions = {
      tolerance: this.o.tolerance ?? 0.1,
      cpuInitializationPeriodMs: this.o.cpuInitializationPeriodMs ?? 300_000,
      initialReadinessDelayMs: this.o.initialReadinessDelayMs ?? 30_000,
      now,
    };
    const metricsCache = new Map<string, Promise<PodMetricsObject[]>>();
    {
      for (const m of hpa.spec?.metrics ?? []) {
        try {
          if (!selector) throw new MetricsError("selector is required");
          const sel = parseLabelSelector(selector);
          const pods = this.pods.list(ns).filter((p) => sel.matches(p.metadata.labels));
          const r = await this.resourceMetric(m, ns, selector, pods, current, opts, metricsCache);
          statuses.push(r.status);
          if (replicas === undefined || r.replicas > replicas) {
            replicas = r.replicas;
            metricName = r.name;
          }
        } catch (e) {
          invalid++;
          const reason = `FailedGet${m.type}Metric`;
          statuses.push({ type: "" });
          error ??= { reason, message: (e as Error).message };
        }
      }
      // As upstream: any invalid metric blocks a scale down; scale up on the valid ones only.
      if (invalid && replicas !== undefined && replicas <= current) replicas = undefined;
      return { replicas, metricName, statuses: statuses.filter((s) => s.type), error, invalid };
    }
  }

  private async resourceMetric(m: MetricSpec, ns: string, selector: string, pods: Pod[], current: number, opts: CalculatorOptions, cache: Map<string, Promise<PodMetricsObject[]>>) {
    const src = m.type === "Resource" ? m.resource : m.type === "ContainerResource" ? m.containerResource : undefined;
    if (!src) throw new MetricsError(`unable to get metric of type ${m.type}: only Resource and ContainerResource metrics are served by this cluster`);
    const container = m.type === "ContainerResource" ? m.containerResource!.container : undefined;
    let list = cache.get(selector);
    if (!list) cache.set(selector, (list = this.podMetrics(ns, selector)));
    const objects = await list;
    // CPU in millicores, memory (anything else) in bytes.
    const scaleOf = src.name === "cpu" ? 1000 : 1;
    const parse = (q: string | number) => quantityNumber(parseQuantity(q)) * scaleOf;
    const metrics = new Map<string, PodMetric>();
    for (const o of objects) {
      const cs = o.containers.filter((c) => !container || c.name === container);
      if (!cs.length || cs.some((c) => c.usage[src.name] === undefined)) continue;
      metrics.set(o.metadata.name, { value: cs.reduce((s, c) => s + parse(c.usage[src.name]!), 0), timestampMs: Date.parse(o.timestamp), windowMs: durationMs(o.window) });
    }
    if (!metrics.size) throw new MetricsError(`unable to get metrics for resource ${src.name}: no metrics returned from resource metrics API`);
    const kindText = container ? `${src.name} container resource` : `${src.name} resource`;
    if (src.target.averageUtilization !== undefined) {
      const requests = podRequests(pods, src.name, parse, container);
      const r = resourceReplicas(current, { utilization: src.target.averageUtilization }, src.name, pods, metrics, requests, opts);
      const currentValue = { averageValue: formatUsage(src.name, r.averageValue), averageUtilization: r.utilization };
      return { replicas: r.replicas, name: `${kindText} utilization (percentage of request)`, status: metricStatus(m, currentValue) };
    }
    const target = parse(src.target.averageValue!);
    const r = resourceReplicas(current, { averageValue: target }, src.name, pods, metrics, undefined, opts);
    return { replicas: r.replicas, name: kindText, status: metricStatus(m, { averageValue: formatUsage(src.name, r.averageValue) }) };
  }

  private async podMetrics(ns: string, selector: string): Promise<PodMetricsObject[]> {
    const q = selector ? `?labelSelector=${encodeURIComponent(selector)}` : "";
    const list = await this.client.json<{ items: PodMetricsObject[] }>("GET", `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(ns)}/pods${q}`);
    return list.items ?? [];
  }

  private async writeStatus(hpa: HorizontalPodAutoscaler, status: NonNullable<HorizontalPodAutoscaler["status"]>) {
    const next = { ...hpa, apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", status };
    if (JSON.stringify(next.status) === JSON.stringify(hpa.status)) return;
    await this.client.json("PUT", this.client.resource(hpaDef).path(hpa.metadata.namespace, hpa.metadata.name, "status"), next);
  }
}

/** Millicores as "250m", bytes as a whole number, as upstream's status quantities. */
const formatUsage = (resource: string, v: number) => (resource === "cpu" ? `${Math.round(v)}m` : String(Math.round(v)));

function metricStatus(m: MetricSpec, current: { averageValue: string; averageUtilization?: number }): MetricStatus {
  if (m.type === "ContainerResource") return { type: m.type, containerResource: { name: m.containerResource!.name, container: m.containerResource!.container, current } };
  return { type: "Resource", resource: { name: m.resource!.name, current } };
}

/** setCondition: a new condition keeps its lastTransitionTime while its status does not change. */
function setCondition(old: HPACondition[] | undefined, out: HPACondition[], type: string, status: string, reason: string, message: string, now: number) {
  const prev = old?.find((c) => c.type === type);
  const c: HPACondition = { type, status, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : timestamp(now), reason, message };
  const i = out.findIndex((x) => x.type === type);
  if (i >= 0) out[i] = c;
  else out.push(c);
}

/** The new conditions, and any old ones of other types, in upstream's order. */
function mergeConditions(old: HPACondition[] | undefined, fresh: HPACondition[]): HPACondition[] {
  const order = ["AbleToScale", "ScalingActive", "ScalingLimited"];
  const byType = new Map((old ?? []).map((c) => [c.type, c]));
  for (const c of fresh) byType.set(c.type, c);
  return [...byType.values()].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
}
