// NodeMetrics and PodMetrics (metrics.k8s.io/v1beta1) from the agents' summaries, shaped as
// upstream's metrics-server returns them: CPU in nanocores ("12345n"), memory as the working
// set in kibibytes ("2048Ki"), the time of the reading and the window the CPU rate covers.
import { STATS_INTERVAL_SECONDS, type CpuStats, type MemoryStats, type PodStats, type StatsSummary } from "../../../api/kubelet-api";
import type { KubeObject } from "../../../api/meta";

export const METRICS_API_VERSION = "metrics.k8s.io/v1beta1";
const WINDOW = `${STATS_INTERVAL_SECONDS}s`;

export interface Usage {
  cpu: string;
  memory: string;
}

export interface NodeMetrics {
  kind: "NodeMetrics";
  apiVersion: typeof METRICS_API_VERSION;
  metadata: { name: string; creationTimestamp: string; labels?: Record<string, string> };
  timestamp: string;
  window: string;
  usage: Usage;
}

export interface PodMetrics {
  kind: "PodMetrics";
  apiVersion: typeof METRICS_API_VERSION;
  metadata: { name: string; namespace: string; creationTimestamp: string; labels?: Record<string, string> };
  timestamp: string;
  window: string;
  containers: { name: string; usage: Usage }[];
}

const nowIso = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

/** Undefined until the CPU has a rate (the agent needs two readings) and memory a working set. */
export function usageOf(cpu: CpuStats | undefined, memory: MemoryStats | undefined): Usage | undefined {
  if (cpu?.usageNanoCores === undefined || memory?.workingSetBytes === undefined) return undefined;
  return { cpu: `${Math.round(cpu.usageNanoCores)}n`, memory: `${Math.floor(memory.workingSetBytes / 1024)}Ki` };
}

export function nodeMetrics(node: KubeObject, summary: StatsSummary): NodeMetrics | undefined {
  const usage = usageOf(summary.node.cpu, summary.node.memory);
  if (!usage) return undefined;
  const labels = node.metadata.labels;
  return {
    kind: "NodeMetrics",
    apiVersion: METRICS_API_VERSION,
    metadata: { name: node.metadata.name!, creationTimestamp: nowIso(), ...(labels && { labels }) },
    timestamp: summary.node.cpu!.time,
    window: WINDOW,
    usage,
  };
}

/** A pod's metrics once every container it reports has a rate; undefined before. */
export function podMetrics(pod: KubeObject, stats: PodStats): PodMetrics | undefined {
  const containers: PodMetrics["containers"] = [];
  for (const c of stats.containers) {
    const usage = usageOf(c.cpu, c.memory);
    if (!usage) return undefined;
    containers.push({ name: c.name, usage });
  }
  if (!containers.length) return undefined;
  const labels = pod.metadata.labels;
  const timestamp = stats.containers.map((c) => c.cpu!.time).sort()[0]!;
  return {
    kind: "PodMetrics",
    apiVersion: METRICS_API_VERSION,
    metadata: { name: pod.metadata.name!, namespace: pod.metadata.namespace ?? "default", creationTimestamp: nowIso(), ...(labels && { labels }) },
    timestamp,
    window: WINDOW,
    containers,
  };
}

export const metricsList = (kind: "NodeMetricsList" | "PodMetricsList", items: unknown[]) => ({ kind, apiVersion: METRICS_API_VERSION, metadata: {}, items });
