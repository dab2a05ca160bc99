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

/** A required pod (anti-)affinity term, its selector and namespaces resolved once per pod. */
export interface AffinityTerm {
  /** Matches a pod's labels (the term's labelSelector, with matchLabelKeys/mismatchLabelKeys merged in). */
  matches(labels: Record<string, string> | undefined): boolean;
  /** Namespaces listed by name (the owner's own when neither names nor a selector are given). */
  namespaces: ReadonlySet<string>;
  /** An empty namespaceSelector: every namespace. */
  allNamespaces: boolean;
  /** A non-empty namespaceSelector, matched against namespace labels. */
  namespaceSelector?: { matches(labels: Record<string, string> | undefined): boolean };
  topologyKey: string;
}

/** A topologySpreadConstraint, read once per pod (upstream's topologySpreadConstraint). */
export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  minDomains: number;
  /** The labelSelector with matchLabelKeys merged in. */
  matches(labels: Record<string, string> | undefined): boolean;
  /** Count only nodes matching the pod's nodeSelector/required node affinity (Honor, the default). */
  honorNodeAffinity: boolean;
  /** Count only nodes whose NoSchedule/NoExecute taints the pod tolerates (Honor; default Ignore). */
  honorNodeTaints: boolean;
}

/** Namespace labels, for namespaceSelectors; the scheduler reads them from the namespace informer. */
export interface SchedulingContext {
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
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
  /** Required pod affinity terms (any topology key). */
  readonly affinity: readonly AffinityTerm[];
  /** Required pod anti-affinity terms (any topology key). */
  readonly antiAffinity: readonly AffinityTerm[];
  /** topologySpreadConstraints with whenUnsatisfiable DoNotSchedule (a filter) and ScheduleAnyway (a score). */
  readonly spreadFilter: readonly SpreadConstraint[];
  readonly spreadScore: readonly SpreadConstraint[];
  /** spec.priority, as the Priority admission plugin set it (0 when unset). */
  readonly priority: number;
  /** spec.preemptionPolicy Never: the pod waits instead of preempting. */
  readonly neverPreempts: boolean;
  /** Being deleted (metadata.deletionTimestamp): still holds its resources, not counted by spread. */
  readonly terminating: boolean;
  /** status.startTime (else creation time) in ms, for upstream's victim ordering. */
  readonly startTime: number;
  /** The node must suit the pod's persistent volumes (VolumeBinding); set per decision. */
  readonly volumeFilter?: (node: NodeInfo) => readonly string[] | undefined;
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

/** Returned by a prepare step that finds nothing to check for this pod: the filter or score is skipped. */
export const SKIP: unique symbol = Symbol("skip");

/** A filter rejects a node with one or more upstream-worded reasons, or passes it (undefined). */
export interface Filter {
  readonly name: string;
  /** Whether the filter can reject anything for this pod; lets the inner loop skip it (upstream's PreFilter skip). */
  applies?(pod: PodInfo): boolean;
  /**
   * State computed once per decision over all nodes (upstream's PreFilter), handed to every
   * filter call; SKIP when nothing can fail.
   */
  prepare?(pod: PodInfo, nodes: readonly NodeInfo[], ctx: SchedulingContext): unknown;
  filter(pod: PodInfo, node: NodeInfo, state?: any): readonly string[] | undefined;
  /**
   * Whether removing pods from the node could lift this rejection (upstream's Unschedulable as
   * opposed to UnschedulableAndUnresolvable): preemption looks only at such nodes. Default: no.
   */
  resolvable?(reasons: readonly string[], pod: PodInfo, node: NodeInfo): boolean;
}

/** A score rates a feasible node; higher is better. Scores end up on a 0..100 scale. */
export interface Score {
  readonly name: string;
  readonly weight: number;
  applies?(pod: PodInfo): boolean;
  /** State computed once per decision (upstream's PreScore); SKIP skips the score. */
  prepare?(pod: PodInfo, feasible: readonly NodeInfo[], all: readonly NodeInfo[], ctx: SchedulingContext): unknown;
  score(pod: PodInfo, node: NodeInfo, state?: any): number;
  /** Rescales the raw scores of all feasible nodes to 0..100 in place (upstream's NormalizeScore). */
  normalize?(scores: Float64Array, count: number, state?: any): void;
}
