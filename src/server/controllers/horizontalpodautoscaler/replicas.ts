// The replica count a resource metric asks for, as upstream's replica calculator: the pods'
// usage against a target (a percentage of their requests, or an average value), with the
// tolerance around a ratio of 1, and the rules for pods without a reading or not yet ready:
// when scaling down, a pod without a reading counts as using 100% of its request; when scaling
// up, as using nothing, and so does a not-yet-ready pod. If those assumptions would reverse the
// direction, or bring the ratio within the tolerance, the count stays.
import type { Pod } from "../../../api/resources/core/pod";

/** One pod's usage of the resource (millicores or bytes), as read from the metrics API. */
export interface PodMetric {
  value: number;
  /** When the reading was taken, and the window it covers (ms). */
  timestampMs: number;
  windowMs: number;
}

export interface CalculatorOptions {
  /** Ratios within 1 ± tolerance leave the count alone (upstream's default 0.1). */
  tolerance: number;
  /** How long after its start a pod's CPU readings may still be those of its start-up (default 5 min). */
  cpuInitializationPeriodMs: number;
  /** How long after its start a pod may still turn Ready for the first time (default 30 s). */
  initialReadinessDelayMs: number;
  now: number;
}

export interface ReplicaResult {
  replicas: number;
  /** For utilization targets: the average utilization (% of request) of the pods with readings. */
  utilization?: number;
  /** The average usage per pod with a reading (millicores or bytes). */
  averageValue: number;
}

export class MetricsError extends Error {}

const readyCondition = (pod: Pod) => pod.status?.conditions?.find((c) => c.type === "Ready");
const ms = (t: string | null | undefined) => (t ? Date.parse(t) : NaN);

interface Groups {
  ready: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

/** groupPods: which pods count, which have no reading, which are not ready yet, which are ignored. */
export function groupPods(pods: Pod[], metrics: Map<string, PodMetric>, resource: string, o: CalculatorOptions): Groups {
  const g: Groups = { ready: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  for (const pod of pods) {
    const name = pod.metadata.name!;
    if (pod.metadata.deletionTimestamp || pod.status?.phase === "Failed") {
      g.ignored.add(name);
      continue;
    }
    if (pod.status?.phase === "Pending") {
      g.unready.add(name);
      continue;
    }
    const metric = metrics.get(name);
    if (!metric) {
      g.missing.add(name);
      continue;
    }
    if (resource === "cpu") {
      const cond = readyCondition(pod);
      const start = ms(pod.status?.startTime);
      let unready: boolean;
      if (!cond || Number.isNaN(start)) unready = true;
      else if (start + o.cpuInitializationPeriodMs > o.now) {
        // Still starting: only a reading taken wholly after the pod turned Ready counts.
        unready = cond.status !== "True" || metric.timestampMs < ms(cond.lastTransitionTime) + metric.windowMs;
      } else {
        // Started long ago: unready only if it never turned Ready.
        unready = cond.status === "False" && start + o.initialReadinessDelayMs > ms(cond.lastTransitionTime);
      }
      if (unready) {
        g.unready.add(name);
        continue;
      }
    }
    g.ready++;
  }
  return g;
}

/** The sum of the requests of the resource over each pod's containers (or one container's). */
export function podRequests(pods: Pod[], resource: string, parse: (q: string | number) => number, container?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const pod of pods) {
    let sum = 0;
    for (const c of pod.spec?.containers ?? []) {
      if (container && c.name !== container) continue;
      const req = c.resources?.requests?.[resource];
      if (req === undefined) throw new MetricsError(`missing request for ${resource} in container ${c.name} of Pod ${pod.metadata.name}`);
      sum += parse(req);
    }
    out.set(pod.metadata.name!, sum);
  }
  return out;
}

function utilizationRatio(metrics: Map<string, number>, requests: Map<string, number>, target: number) {
  let used = 0;
  let requested = 0;
  for (const [name, v] of metrics) {
    const r = requests.get(name);
    if (r === undefined) continue;
    used += v;
    requested += r;
  }
  if (requested === 0) throw new MetricsError("no metrics returned matched known pods");
  const utilization = Math.trunc((used * 100) / requested);
  return { ratio: utilization / target, utilization };
}

function averageRatio(metrics: Map<string, number>, target: number) {
  let used = 0;
  for (const v of metrics.values()) used += v;
  const average = used / metrics.size;
  return { ratio: average / target, average };
}

export type ResourceTarget = { utilization: number } | { averageValue: number };

/**
 * GetResourceReplicas / GetRawResourceReplicas: the replicas for one resource metric.
 * `requests` is needed for a utilization target only.
 */
export function resourceReplicas(
  currentReplicas: number,
  target: ResourceTarget,
  resource: string,
  pods: Pod[],
  podMetrics: Map<string, PodMetric>,
  requests: Map<string, number> | undefined,
  o: CalculatorOptions,
): ReplicaResult {
  if (!pods.length) throw new MetricsError("no pods returned by selector while calculating replica count");
  const g = groupPods(pods, podMetrics, resource, o);
  const metrics = new Map<string, number>();
  for (const [name, m] of podMetrics) if (!g.ignored.has(name) && !g.unready.has(name) && pods.some((p) => p.metadata.name === name)) metrics.set(name, m.value);
  if (!metrics.size) throw new MetricsError("did not receive metrics for targeted pods (pods might be unready)");

  const ratioOf = (m: Map<string, number>) =>
    "utilization" in target ? utilizationRatio(m, requests!, target.utilization).ratio : averageRatio(m, target.averageValue).ratio;
  const first = "utilization" in target ? utilizationRatio(metrics, requests!, target.utilization) : undefined;
  const usageRatio = first ? first.ratio : ratioOf(metrics);
  let average = 0;
  for (const v of metrics.values()) average += v;
  average /= metrics.size;
  const result = (replicas: number): ReplicaResult => ({ replicas, utilization: first?.utilization, averageValue: average });
  const within = (r: number) => Math.abs(1 - r) <= o.tolerance;

  const scaleUpWithUnready = g.unready.size > 0 && usageRatio > 1;
  if (!scaleUpWithUnready && !g.missing.size) {
    if (within(usageRatio)) return result(currentReplicas);
    // Only the pods with readings count (the ready ones), as upstream does.
    return result(Math.ceil(usageRatio * g.ready));
  }

  if (g.missing.size) {
    for (const name of g.missing) {
      if (usageRatio < 1) {
        // Scaling down: assume a pod without a reading uses its whole request (or the target).
        const full = "utilization" in target ? (requests!.get(name) ?? 0) : target.averageValue;
        metrics.set(name, "utilization" in target ? (full * Math.max(target.utilization, 100)) / 100 : full);
      } else if (usageRatio > 1) metrics.set(name, 0);
    }
  }
  if (scaleUpWithUnready) for (const name of g.unready) metrics.set(name, 0);

  const newRatio = ratioOf(metrics);
  if (within(newRatio) || (usageRatio < 1 && newRatio > 1) || (usageRatio > 1 && newRatio < 1)) return result(currentReplicas);
  const replicas = Math.ceil(newRatio * metrics.size);
  if ((newRatio < 1 && replicas > currentReplicas) || (newRatio > 1 && replicas < currentReplicas)) return result(currentReplicas);
  return result(replicas);
}
