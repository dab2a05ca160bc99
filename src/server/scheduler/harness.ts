// A scheduler harness in the spirit of Nomad's: build a cluster state in memory, run the real
// pipeline and cache (assume after each placement, no API), and read back where pods went.
// Used by the unit tests and the benchmark.
import type { Node, Taint } from "../../api/resources/core/node";
import type { Pod } from "../../api/resources/core/pod";
import type { PodSpec } from "../../api/resources/core/podspec.schema";
import { SchedulerCache } from "./cache";
import { fitErrorMessage } from "./fit-error";
import { selectNode } from "./pipeline";
import { buildNodeInfo } from "./nodeinfo";
import { buildPodInfo } from "./podinfo";
import { findPreemption, type PreemptionOptions, type PreemptionResult } from "./preemption";
import { profileFor, type SchedulingPolicy } from "./profile";
import type { NodeInfo, PodInfo, SchedulingContext } from "./types";

export interface NodeOptions {
  cpu?: string;
  memory?: string;
  pods?: string;
  extra?: Record<string, string>;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  ready?: "True" | "False" | "Unknown";
}

export function makeNode(name: string, o: NodeOptions = {}): Node {
  const allocatable = { cpu: o.cpu ?? "4", memory: o.memory ?? "8Gi", pods: o.pods ?? "110", ...o.extra };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...o.labels } },
    spec: { ...(o.unschedulable && { unschedulable: true }), ...(o.taints && { taints: o.taints }) },
    status: { capacity: allocatable, allocatable, conditions: [{ type: "Ready", status: o.ready ?? "True" }] },
  };
}

export interface PodOptions {
  namespace?: string;
  cpu?: string;
  memory?: string;
  extra?: Record<string, string>;
  labels?: Record<string, string>;
  spec?: Partial<PodSpec>;
  /** spec.priority, as the Priority admission plugin would set it. */
  priority?: number;
  /** Bound to this node. */
  nodeName?: string;
}

export function makePod(name: string, o: PodOptions = {}): Pod {
  const requests: Record<string, string> = { ...o.extra };
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: o.namespace ?? "default", labels: o.labels },
    spec: {
      containers: [{ name: "app", image: "busybox", resources: { requests } }],
      ...(o.priority !== undefined && { priority: o.priority }),
      ...(o.nodeName && { nodeName: o.nodeName }),
      ...o.spec,
    },
  };
}

/** A NodeInfo with the given pods on it, for single-filter tests. */
export const nodeInfo = (node: Node, pods: Pod[] = []): NodeInfo => buildNodeInfo(node, pods.map(buildPodInfo));
export const podInfo = (pod: Pod): PodInfo => buildPodInfo(pod);

export interface HarnessResult {
  /** Pod key → node name, for placed pods. */
  placements: Map<string, string>;
  /** Pod key → FitError message, for pods that fit nowhere. */
  failures: Map<string, string>;
}

export class Harness {
  readonly cache = new SchedulerCache();
  readonly profile;
  /** Namespace labels the namespaceSelectors of affinity terms see. */
  readonly namespaceLabels = new Map<string, Record<string, string>>();
  readonly context: SchedulingContext = { namespaceLabels: (ns) => this.namespaceLabels.get(ns) };

  constructor(policy: SchedulingPolicy = "binpack") {
    this.profile = profileFor(policy);
  }

  addNodes(...nodes: Node[]): this {
    for (const n of nodes) this.cache.setNode(n);
    return this;
  }

  /** Pods already bound (spec.nodeName set) or pending; pending ones are not scheduled by this. */
  addPods(...pods: Pod[]): this {
    for (const p of pods) this.cache.setPod(p);
    return this;
  }

  /** Schedules pods one after another, assuming each placement as the real scheduler does. */
  schedule(pods: Pod[]): HarnessResult {
    const result: HarnessResult = { placements: new Map(), failures: new Map() };
    for (const pod of pods) {
      const info = buildPodInfo(pod);
      const d = selectNode(info, this.cache.snapshotFor(info), this.profile, this.context);
      if (d.node) {
        this.cache.assume(info, d.node.name);
        result.placements.set(info.key, d.node.name);
      } else result.failures.set(info.key, fitErrorMessage(d.totalNodes, d.reasons));
    }
    return result;
  }

  /** What preemption would do for a pod that fits nowhere (undefined if it fits somewhere). */
  preempt(pod: Pod, opts?: PreemptionOptions): PreemptionResult | undefined {
    const info = buildPodInfo(pod);
    const nodes = this.cache.snapshotFor(info);
    const d = selectNode(info, nodes, this.profile, this.context);
    return d.node ? undefined : findPreemption(info, nodes, d.candidates, this.profile, this.context, opts);
  }

  /** Distinct nodes that hold at least one of the placed pods. */
  static nodesUsed(r: HarnessResult): number {
    return new Set(r.placements.values()).size;
  }
}
