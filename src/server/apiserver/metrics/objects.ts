// NodeMetrics and PodMetrics (metrics.k8s.io/v1beta1) from the agents' summaries, shaped as
// upstream's metrics-server returns them: CPU in nanocores ("12345n"), memory as the working
// set in kibibytes ("2048Ki"), the time of the reading and the window the CPU rate covers.
import { STATS_INTERVAL_SECONDS, type CpuStats, type MemoryStats, type PodStats, type StatsSummary } from "../../../api/kubelet-api";
import type { KubeObject } from "../../../api/meta";
import { canonicalQuantity } from "../../../api/quantity";

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

const TABLE_COLUMNS = [
  { name: "Name", type: "string", format: "name", description: "Name of the resource", priority: 0 },
  { name: "cpu", type: "string", format: "quantity", description: "", priority: 0 },
  { name: "memory", type: "string", format: "quantity", description: "", priority: 0 },
  { name: "Window", type: "string", format: "duration", description: "", priority: 0 },
];

/** Sums usages written as we write them ("<n>n", "<n>Ki"). */
function total(usages: Usage[]): Usage {
  const cpu = usages.reduce((s, u) => s + Number(u.cpu.slice(0, -1)), 0);
  const memory = usages.reduce((s, u) => s + Number(u.memory.slice(0, -2)), 0);
  return { cpu: `${cpu}n`, memory: `${memory}Ki` };
}

/**
 * What `kubectl get nodes.metrics.k8s.io` (or pods) shows, as metrics-server's table: the name,
 * each resource in canonical form (a pod's containers summed) and the window.
 */
export function metricsTable(items: (NodeMetrics | PodMetrics)[]) {
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: {},
    columnDefinitions: TABLE_COLUMNS,
    rows: items.map((m) => {
      const usage = m.kind === "NodeMetrics" ? m.usage : total(m.containers.map((c) => c.usage));
      return { cells: [m.metadata.name, canonicalQuantity(usage.cpu), canonicalQuantity(usage.memory), m.window], object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: m.metadata } };
    }),
  };
}
