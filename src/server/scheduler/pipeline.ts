// One scheduling decision: run the filters over every node of a snapshot, score the feasible
// ones, pick the best. Pure: it reads the snapshot and the pod and changes neither, so it can be
// tested and benchmarked without an API server (Nomad's feasibility → rank chain).
import type { Profile } from "./profile";
import type { NodeInfo, PodInfo } from "./types";

export type Decision = { node: NodeInfo; feasible: number } | { node?: undefined; totalNodes: number; reasons: Map<string, number> };

/** Reused between calls: a decision never allocates per-node score arrays. */
let scratch = new Float64Array(1024);
let totals = new Float64Array(1024);

export function selectNode(pod: PodInfo, nodes: readonly NodeInfo[], profile: Profile): Decision {
  const filters = profile.filters.filter((f) => !f.applies || f.applies(pod));
  const feasible: NodeInfo[] = [];
  const reasons = new Map<string, number>();
  nodes: for (const node of nodes) {
    for (const f of filters) {
      const failed = f.filter(pod, node);
      if (failed) {
        for (const r of failed) reasons.set(r, (reasons.get(r) ?? 0) + 1);
        continue nodes;
      }
    }
    feasible.push(node);
  }
  const n = feasible.length;
  if (n === 0) return { totalNodes: nodes.length, reasons };
  if (n === 1) return { node: feasible[0], feasible: 1 };

  if (scratch.length < n) {
    scratch = new Float64Array(n * 2);
    totals = new Float64Array(n * 2);
  }
  totals.fill(0, 0, n);
  for (const s of profile.scores) {
    if (s.applies && !s.applies(pod)) continue;
    for (let i = 0; i < n; i++) scratch[i] = s.score(pod, feasible[i]);
    s.normalize?.(scratch, n);
    for (let i = 0; i < n; i++) totals[i] += s.weight * scratch[i];
  }
  // Highest total wins; ties go to the lexically smallest node name, so runs are reproducible.
  let best = 0;
  for (let i = 1; i < n; i++) {
    const d = totals[i] - totals[best];
    if (d > 1e-9 || (d > -1e-9 && feasible[i].name < feasible[best].name)) best = i;
  }
  return { node: feasible[best], feasible: n };
}
