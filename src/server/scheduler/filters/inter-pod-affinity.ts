// Required inter-pod affinity and anti-affinity on any topology key, as upstream's
// InterPodAffinity filter: once per decision (prepare) the pods of the cluster are counted per
// topology domain — pods matching the incoming pod's affinity terms, pods matching its
// anti-affinity terms, and existing pods whose own anti-affinity terms match the incoming pod
// (the symmetry rule) — and each node is then judged by its labels' domains alone. A pod with no
// terms, in a cluster where no pod carries anti-affinity, skips the filter entirely.
import { SKIP, type AffinityTerm, type Filter, type NodeInfo, type PodInfo, type SchedulingContext } from "../types";

export const AFFINITY_MISMATCH = ["node(s) didn't match pod affinity rules"] as const;
export const ANTI_AFFINITY_MISMATCH = ["node(s) didn't match pod anti-affinity rules"] as const;
export const EXISTING_ANTI_AFFINITY_MISMATCH = ["node(s) didn't satisfy existing pods anti-affinity rules"] as const;

/** topologyKey → topology value → count. */
type DomainCounts = Map<string, Map<string, number>>;

export interface AffinityState {
  affinity: DomainCounts;
  anti: DomainCounts;
  existingAnti: DomainCounts;
  /** No pod anywhere matches the affinity terms, but the pod matches them itself (the first of a group). */
  selfAffine: boolean;
}

/** Whether a term (owned by some pod) selects `target`, by namespace and labels. */
export function termSelects(term: AffinityTerm, target: PodInfo, ctx: SchedulingContext): boolean {
  if (!term.matches(target.labels as Record<string, string>)) return false;
  if (term.allNamespaces || term.namespaces.has(target.namespace)) return true;
  return !!term.namespaceSelector?.matches(ctx.namespaceLabels(target.namespace) as Record<string, string> | undefined);
}

function add(counts: DomainCounts, node: NodeInfo, key: string) {
  const value = node.labels[key];
  if (value === undefined) return;
  let values = counts.get(key);
  if (!values) counts.set(key, (values = new Map()));
  values.set(value, (values.get(value) ?? 0) + 1);
}

const count = (counts: DomainCounts, key: string, value: string) => counts.get(key)?.get(value) ?? 0;

export function prepareAffinity(pod: PodInfo, nodes: readonly NodeInfo[], ctx: SchedulingContext): AffinityState | typeof SKIP {
  const own = pod.affinity.length > 0 || pod.antiAffinity.length > 0;
  const state: AffinityState = { affinity: new Map(), anti: new Map(), existingAnti: new Map(), selfAffine: false };
  let existing = false;
  for (const node of nodes) {
    for (const other of node.antiAffinityPods) {
      if (other.key === pod.key) continue;
      for (const t of other.antiAffinity) if (termSelects(t, pod, ctx)) (add(state.existingAnti, node, t.topologyKey), (existing = true));
    }
    if (!own) continue;
    for (const other of node.pods) {
      if (other.key === pod.key) continue;
      // Affinity: a pod counts only if it matches every term (upstream's podMatchesAllAffinityTerms).
      if (pod.affinity.length && pod.affinity.every((t) => termSelects(t, other, ctx))) for (const t of pod.affinity) add(state.affinity, node, t.topologyKey);
      for (const t of pod.antiAffinity) if (termSelects(t, other, ctx)) add(state.anti, node, t.topologyKey);
    }
  }
  if (!own && !existing) return SKIP;
  state.selfAffine = state.affinity.size === 0 && pod.affinity.length > 0 && pod.affinity.every((t) => termSelects(t, pod, ctx));
  return state;
}

function satisfiesAffinity(pod: PodInfo, node: NodeInfo, state: AffinityState): boolean {
  let found = true;
  for (const t of pod.affinity) {
    const value = node.labels[t.topologyKey];
    if (value === undefined) return false; // every term's topology label must be on the node
    if (count(state.affinity, t.topologyKey, value) <= 0) found = false;
  }
  return found || state.selfAffine;
}

export const interPodAffinity: Filter = {
  name: "InterPodAffinity",
  prepare: prepareAffinity,
  filter(pod, node, state: AffinityState) {
    if (pod.affinity.length && !satisfiesAffinity(pod, node, state)) return AFFINITY_MISMATCH;
    for (const t of pod.antiAffinity) {
      const value = node.labels[t.topologyKey];
      if (value !== undefined && count(state.anti, t.topologyKey, value) > 0) return ANTI_AFFINITY_MISMATCH;
    }
    for (const [key, values] of state.existingAnti) {
      const value = node.labels[key];
      if (value !== undefined && (values.get(value) ?? 0) > 0) return EXISTING_ANTI_AFFINITY_MISMATCH;
    }
    return undefined;
  },
  // Upstream: an unmet affinity cannot be fixed by evicting pods; anti-affinity can.
  resolvable: (reasons) => reasons !== AFFINITY_MISMATCH,
};
