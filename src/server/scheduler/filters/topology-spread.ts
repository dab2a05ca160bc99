// topologySpreadConstraints with whenUnsatisfiable: DoNotSchedule, as upstream's PodTopologySpread
// filter: matching pods (same namespace, not terminating) are counted per domain over the
// eligible nodes once per decision, and a node is refused when placing the pod there would make
// its domain exceed the global minimum by more than maxSkew. Pods without constraints skip it.
import { anyTermMatches, tolerated } from "../match";
import { SKIP, type Filter, type NodeInfo, type PodInfo, type SpreadConstraint } from "../types";

export const SPREAD_MISMATCH = ["node(s) didn't match pod topology spread constraints"] as const;
export const SPREAD_MISSING_LABEL = ["node(s) didn't match pod topology spread constraints (missing required label)"] as const;

/** Whether a node's domain counts for a constraint (nodeAffinityPolicy / nodeTaintsPolicy). */
export function nodeIncluded(c: SpreadConstraint, pod: PodInfo, node: NodeInfo): boolean {
  if (c.honorNodeAffinity) {
    if (pod.nodeSelector) for (const [k, v] of Object.entries(pod.nodeSelector)) if (node.labels[k] !== v) return false;
    if (pod.requiredTerms && !anyTermMatches(pod.requiredTerms, node)) return false;
  }
  if (c.honorNodeTaints)
    for (const t of node.taints) if ((t.effect === "NoSchedule" || t.effect === "NoExecute") && !tolerated(pod.tolerations, t)) return false;
  return true;
}

export const hasAllKeys = (constraints: readonly SpreadConstraint[], node: NodeInfo) => constraints.every((c) => node.labels[c.topologyKey] !== undefined);

/** Pods on the node that a constraint counts: the incoming pod's namespace, selected, not terminating. */
export function matchingPods(c: SpreadConstraint, pod: PodInfo, node: NodeInfo): number {
  let n = 0;
  for (const p of node.pods) if (!p.terminating && p.namespace === pod.namespace && p.key !== pod.key && c.matches(p.labels as Record<string, string>)) n++;
  return n;
}

export interface SpreadState {
  /** Per constraint: topology value → matching pods. */
  counts: Map<string, number>[];
  /** Per constraint: the smallest count over its domains (0 while there are fewer than minDomains). */
  minimum: number[];
}

export function prepareSpread(pod: PodInfo, nodes: readonly NodeInfo[]): SpreadState | typeof SKIP {
  const constraints = pod.spreadFilter;
  if (!constraints.length) return SKIP;
  const counts = constraints.map(() => new Map<string, number>());
  for (const node of nodes) {
    if (!hasAllKeys(constraints, node)) continue;
    constraints.forEach((c, i) => {
      if (!nodeIncluded(c, pod, node)) return;
      const value = node.labels[c.topologyKey]!;
      counts[i]!.set(value, (counts[i]!.get(value) ?? 0) + matchingPods(c, pod, node));
    });
  }
  const minimum = constraints.map((c, i) => {
    const domains = counts[i]!;
    if (domains.size < c.minDomains) return 0;
    let min = Infinity;
    for (const n of domains.values()) if (n < min) min = n;
    return min;
  });
  return { counts, minimum };
}

export const topologySpread: Filter = {
  name: "PodTopologySpread",
  applies: (pod) => pod.spreadFilter.length > 0,
  prepare: prepareSpread,
  filter(pod, node, state: SpreadState) {
    const constraints = pod.spreadFilter;
    for (let i = 0; i < constraints.length; i++) {
      const c = constraints[i]!;
      const value = node.labels[c.topologyKey];
      if (value === undefined) return SPREAD_MISSING_LABEL;
      const self = c.matches(pod.labels as Record<string, string>) ? 1 : 0;
      const skew = (state.counts[i]!.get(value) ?? 0) + self - state.minimum[i]!;
      if (skew > c.maxSkew) return SPREAD_MISMATCH;
    }
    return undefined;
  },
  resolvable: (reasons) => reasons !== SPREAD_MISSING_LABEL,
};
