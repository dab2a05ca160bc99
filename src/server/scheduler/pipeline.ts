// One scheduling decision: run the filters over every node of a snapshot, score the feasible
// ones, pick the best. Pure: it reads the snapshot and the pod and changes neither, so it can be
// tested and benchmarked without an API server (Nomad's feasibility → rank chain).
import type { Profile } from "./profile";
import { SKIP, type Filter, type NodeInfo, type PodInfo, type SchedulingContext } from "./types";

export type Decision =
  | { node: NodeInfo; feasible: number }
  | {
      node?: undefined;
      totalNodes: number;
      reasons: Map<string, number>;
      /** Nodes refused only for reasons that evicting pods could lift: where preemption may look. */
      candidates: NodeInfo[];
    };

/** A filter with its per-decision state. */
export interface PreparedFilter {
  filter: Filter;
  state: unknown;
}

export const NO_NAMESPACE_LABELS: SchedulingContext = { namespaceLabels: () => undefined };

/** The filters that apply to this pod, each with its state over `nodes` (skipped ones dropped). */
export function prepareFilters(pod: PodInfo, nodes: readonly NodeInfo[], filters: readonly Filter[], ctx: SchedulingContext): PreparedFilter[] {
  const out: PreparedFilter[] = [];
  for (const f of filters) {
    if (f.applies && !f.applies(pod)) continue;
    const state = f.prepare ? f.prepare(pod, nodes, ctx) : undefined;
    if (state !== SKIP) out.push({ filter: f, state });
  }
  return out;
}

/** The first failing filter's reasons on a node, or undefined when the pod fits. */
export function firstFailure(pod: PodInfo, node: NodeInfo, prepared: readonly PreparedFilter[]): { filter: Filter; reasons: readonly string[] } | undefined {
  for (const p of prepared) {
    const reasons = p.filter.filter(pod, node, p.state);
    if (reasons) return { filter: p.filter, reasons };
  }
  return undefined;
}

/** Reused between calls: a decision never allocates per-node score arrays. */
let scratch = new Float64Array(1024);
let totals = new Float64Array(1024);

export function selectNode(pod: PodInfo, nodes: readonly NodeInfo[], profile: Profile, ctx: SchedulingContext = NO_NAMESPACE_LABELS): Decision {
  const filters = prepareFilters(pod, nodes, profile.filters, ctx);
  const feasible: NodeInfo[] = [];
  const reasons = new Map<string, number>();
  const candidates: NodeInfo[] = [];
  nodes: for (const node of nodes) {
    for (const { filter: f, state } of filters) {
      const failed = f.filter(pod, node, state);
      if (failed) {
        for (const r of failed) reasons.set(r, (reasons.get(r) ?? 0) + 1);
        if (feasible.length === 0 && f.resolvable?.(failed, pod, node)) candidates.push(node);
        continue nodes;
      }
    }
    feasible.push(node);
  }
  const n = feasible.length;
  if (n === 0) return { totalNodes: nodes.length, reasons, candidates };
  if (n === 1) return { node: feasible[0], feasible: 1 };

  if (scratch.length < n) {
    scratch = new Float64Array(n * 2);
    totals = new Float64Array(n * 2);
  }
  totals.fill(0, 0, n);
  for (const s of profile.scores) {
    if (s.applies && !s.applies(pod)) continue;
    const state = s.prepare ? s.prepare(pod, feasible, nodes, ctx) : undefined;
    if (state === SKIP) continue;
    for (let i = 0; i < n; i++) scratch[i] = s.score(pod, feasible[i], state);
    s.normalize?.(scratch, n, state);
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
