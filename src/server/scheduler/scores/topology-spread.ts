// topologySpreadConstraints with whenUnsatisfiable: ScheduleAnyway, as upstream's PodTopologySpread
// score: a node scores the matching pods in its domains (weighted by log(domains + 2) so
// constraints over few domains count less), and fewer is better once normalized. Nodes lacking a
// constraint's topology label score 0. Weight 2, as upstream's default profile.
import { hasAllKeys, matchingPods, nodeIncluded } from "../filters/topology-spread";
import { HOSTNAME_LABEL } from "../podinfo";
import { SKIP, type Score, type NodeInfo, type PodInfo } from "../types";

/** Score of a node that lacks a topology label: normalized to 0. */
const IGNORED = -1;

interface SoftSpreadState {
  /** Per constraint: topology value → matching pods (unused for the hostname key, counted per node). */
  counts: Map<string, number>[];
  weights: number[];
}

function prepare(pod: PodInfo, feasible: readonly NodeInfo[], all: readonly NodeInfo[]): SoftSpreadState | typeof SKIP {
  const constraints = pod.spreadScore;
  if (!constraints.length) return SKIP;
  const counts = constraints.map(() => new Map<string, number>());
  const sizes = constraints.map(() => 0);
  for (const node of feasible) {
    if (!hasAllKeys(constraints, node)) continue;
    constraints.forEach((c, i) => {
      if (c.topologyKey === HOSTNAME_LABEL) sizes[i]!++;
      else if (!counts[i]!.has(node.labels[c.topologyKey]!)) counts[i]!.set(node.labels[c.topologyKey]!, 0);
    });
  }
  constraints.forEach((c, i) => {
    if (c.topologyKey !== HOSTNAME_LABEL) sizes[i] = counts[i]!.size;
  });
  // Only the domains of feasible nodes are counted, but over every node in them.
  for (const node of all) {
    if (!hasAllKeys(constraints, node)) continue;
    constraints.forEach((c, i) => {
      if (c.topologyKey === HOSTNAME_LABEL) return;
      const value = node.labels[c.topologyKey]!;
      const current = counts[i]!.get(value);
      if (current === undefined || !nodeIncluded(c, pod, node)) return;
      counts[i]!.set(value, current + matchingPods(c, pod, node));
    });
  }
  return { counts, weights: sizes.map((n) => Math.log(n + 2)) };
}

export const topologySpreadScore: Score = {
  name: "PodTopologySpread",
  weight: 2,
  applies: (pod) => pod.spreadScore.length > 0,
  prepare,
  score(pod, node, state: SoftSpreadState) {
    const constraints = pod.spreadScore;
    if (!hasAllKeys(constraints, node)) return IGNORED;
    let score = 0;
    constraints.forEach((c, i) => {
      const n = c.topologyKey === HOSTNAME_LABEL ? matchingPods(c, pod, node) : (state.counts[i]!.get(node.labels[c.topologyKey]!) ?? 0);
      score += n * state.weights[i]! + (c.maxSkew - 1);
    });
    return Math.round(score);
  },
  normalize(scores, count) {
    let min = Infinity;
    let max = 0;
    for (let i = 0; i < count; i++) {
      const s = scores[i]!;
      if (s === IGNORED) continue;
      if (s < min) min = s;
      if (s > max) max = s;
    }
    for (let i = 0; i < count; i++) {
      const s = scores[i]!;
      if (s === IGNORED) scores[i] = 0;
      else scores[i] = max === 0 ? 100 : Math.trunc((100 * (max + min - s)) / max);
    }
  },
};
