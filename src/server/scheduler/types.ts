// The scheduler's view of pods and nodes: everything a filter or score needs, computed once
// per object (requests parsed, ports collected) so the per-node inner loop only compares numbers.
// NodeInfo values are immutable: assuming a pod produces a new NodeInfo, so a snapshot taken
// before a placement never changes underneath the pipeline (Nomad's state-snapshot idea).
import type { Node, Taint } from "../../api/resources/core/node";
import type { Pod } from "../../api/resources/core/pod";
import type { Toleration } from "../../api/resources/core/podspec.schema";

/** Amounts in base units: cpu in millicores, memory and scalars in bytes/units. */
export interface Resources {
  readonly cpu: number;
  readonly memory: number;
  readonly pods: number;
  /** Everything else (ephemeral-storage, extended resources such as example.com/gpu). */
  readonly scalar: Readonly<Record<string, number>>;
}

export interface HostPort {
  readonly port: number;
  readonly protocol: string;
  /** "0.0.0.0" when unset: binds every address. */
  readonly ip: string;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

export interface AntiAffinityTerm {
  /** Matches a pod's labels (from the term's labelSelector). */
  matches(labels: Record<string, string> | undefined): boolean;
  /** Namespaces the term looks at; undefined means all namespaces. */
  namespaces?: ReadonlySet<string>;
  topologyKey: string;
}

export interface PodInfo {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly requests: Resources;
  /** Requests with upstream's non-zero defaults (100m, 200Mi) for pods that ask for nothing: scoring only. */
  readonly scoreCpu: number;
  readonly scoreMemory: number;
  readonly hostPorts: readonly HostPort[];
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly requiredTerms?: readonly NodeSelectorTerm[];
  readonly preferredTerms?: readonly { weight: number; preference: NodeSelectorTerm }[];
  readonly tolerations: readonly Toleration[];
  /** Required anti-affinity terms on kubernetes.io/hostname. */
  readonly antiAffinity: readonly AntiAffinityTerm[];
  readonly pod: Pod;
}

export type ReadyStatus = "True" | "False" | "Unknown";

export interface NodeInfo {
  readonly name: string;
  readonly node: Node;
  readonly labels: Readonly<Record<string, string>>;
  readonly ready: ReadyStatus;
  readonly unschedulable: boolean;
  readonly taints: readonly Taint[];
  readonly allocatable: Resources;
  /** Sum of the requests of the pods on the node, bound and assumed. */
  readonly requested: Resources;
  readonly scoreCpu: number;
  readonly scoreMemory: number;
  readonly usedPorts: readonly HostPort[];
  readonly pods: readonly PodInfo[];
  /** Pods on the node that carry required anti-affinity terms (checked against incoming pods). */
  readonly antiAffinityPods: readonly PodInfo[];
}

/** A filter rejects a node with one or more upstream-worded reasons, or passes it (undefined). */
export interface Filter {
  readonly name: string;
  /** Whether the filter can reject anything for this pod; lets the inner loop skip it (upstream's PreFilter skip). */
  applies?(pod: PodInfo): boolean;
  filter(pod: PodInfo, node: NodeInfo): readonly string[] | undefined;
}

/** A score rates a feasible node; higher is better. Scores end up on a 0..100 scale. */
export interface Score {
  readonly name: string;
  readonly weight: number;
  applies?(pod: PodInfo): boolean;
  score(pod: PodInfo, node: NodeInfo): number;
  /** Rescales the raw scores of all feasible nodes to 0..100 in place (upstream's NormalizeScore). */
  normalize?(scores: Float64Array, count: number): void;
}
