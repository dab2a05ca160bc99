// Preemption, as upstream's DefaultPreemption post-filter, for a pod that fits nowhere: on each
// node where only removable things stood in the way (resources, host ports, anti-affinity,
// spread skew), remove every lower-priority pod, check the pod fits, then give back as many of
// them as still leave room, most important first (upstream's "reprieve"). Of the nodes that
// work, the one with the fewest disruption-budget violations wins, then the lowest
// highest-victim priority, the smallest priority sum, the fewest victims, the latest start of
// its most important victims. Pure, like the pipeline: the scheduler carries out the result.
import { withoutPodInfo } from "./cache";
import { fitErrorMessage } from "./fit-error";
import { withPod } from "./nodeinfo";
import { firstFailure, prepareFilters, type PreparedFilter } from "./pipeline";
import type { Profile } from "./profile";
import { SKIP, type NodeInfo, type PodInfo, type SchedulingContext } from "./types";

export interface PreemptionOptions {
  /**
   * Splits the possible victims (most important first) into those whose eviction would violate
   * a PodDisruptionBudget and the rest. Those are reprieved first and count against a node when
   * they must go. Without it no pod is protected.
   */
  splitByBudget?(pods: readonly PodInfo[]): { violating: PodInfo[]; other: PodInfo[] };
}

export interface Preemption {
  node: NodeInfo;
  /** Most important first. */
  victims: PodInfo[];
  budgetViolations: number;
}

/** Either a preemption, or why none, worded for the FailedScheduling message; `eligible` is false when the pod may not preempt now. */
export type PreemptionResult = { preemption: Preemption } | { preemption?: undefined; eligible: boolean; message: string };

/** Upstream's MoreImportantPod: higher priority, then the one that started earlier. */
export const moreImportant = (a: PodInfo, b: PodInfo) => b.priority - a.priority || a.startTime - b.startTime;

/** Upstream looks at no more candidate nodes than this, or 10% of the cluster if that is more. */
const MIN_CANDIDATES = 100;
const CANDIDATE_PERCENT = 10;

const preemptedByScheduler = (p: PodInfo) =>
  p.terminating && !!p.pod.status?.conditions?.some((c) => c.type === "DisruptionTarget" && c.reason === "PreemptionByScheduler" && c.status === "True");

/**
 * Upstream's PodEligibleToPreemptOthers: never for preemptionPolicy Never, and not while a
 * lower-priority pod it already preempted is still terminating on its nominated node.
 */
export function notEligible(pod: PodInfo, nodes: readonly NodeInfo[]): string | undefined {
  if (pod.neverPreempts) return "not eligible due to preemptionPolicy=Never.";
  const nominated = pod.pod.status?.nominatedNodeName;
  const node = nominated ? nodes.find((n) => n.name === nominated) : undefined;
  if (node?.pods.some((p) => p.priority < pod.priority && preemptedByScheduler(p))) return "not eligible due to a terminating pod on the nominated node.";
  return undefined;
}

/** Checks whether the pod fits on `node` (a changed copy of a node of `nodes`), stateful filters re-prepared for it. */
function fitChecker(pod: PodInfo, nodes: readonly NodeInfo[], base: readonly PreparedFilter[], ctx: SchedulingContext) {
  const stateful = base.some((p) => p.filter.prepare);
  return (node: NodeInfo): boolean => {
    if (!stateful) return !firstFailure(pod, node, base);
    const view = nodes.map((n) => (n.name === node.name ? node : n));
    const prepared: PreparedFilter[] = [];
    for (const p of base) {
      const state = p.filter.prepare ? p.filter.prepare(pod, view, ctx) : p.state;
      if (state !== SKIP) prepared.push({ filter: p.filter, state });
    }
    return !firstFailure(pod, node, prepared);
  };
}

/** The fewest lower-priority pods on a node whose removal lets the pod fit; undefined if none does. */
export function selectVictims(pod: PodInfo, node: NodeInfo, fits: (n: NodeInfo) => boolean, opts: PreemptionOptions = {}): Omit<Preemption, "node"> | undefined {
  const lower = node.pods.filter((p) => p.priority < pod.priority);
  if (!lower.length) return undefined;
  let current = node;
  for (const p of lower) current = withoutPodInfo(current, p.key);
  if (!fits(current)) return undefined;
  lower.sort(moreImportant);
  const { violating, other } = opts.splitByBudget ? opts.splitByBudget(lower) : { violating: [] as PodInfo[], other: lower };
  const victims: PodInfo[] = [];
  let budgetViolations = 0;
  const reprieve = (p: PodInfo, violates: boolean) => {
    const back = withPod(current, p);
    if (fits(back)) current = back;
    else {
      victims.push(p);
      if (violates) budgetViolations++;
    }
  };
  for (const p of violating) reprieve(p, true);
  for (const p of other) reprieve(p, false);
  victims.sort(moreImportant);
  return { victims, budgetViolations };
}

const PRIORITY_OFFSET = 2 ** 31; // upstream adds MaxInt32+1 so negative priorities sum sensibly

/** Upstream's pickOneNodeForPreemption, criterion by criterion. */
export function pickPreemption(options: readonly Preemption[]): Preemption | undefined {
  const noVictims = options.find((o) => o.victims.length === 0);
  if (noVictims) return noVictims;
  const criteria: ((o: Preemption) => number)[] = [
    (o) => -o.budgetViolations,
    (o) => -o.victims[0]!.priority,
    (o) => -o.victims.reduce((sum, v) => sum + v.priority + PRIORITY_OFFSET, 0),
    (o) => -o.victims.length,
    // The latest start among each node's earliest-started highest-priority victims.
    (o) => {
      const top = o.victims[0]!.priority;
      return Math.min(...o.victims.filter((v) => v.priority === top).map((v) => v.startTime));
    },
  ];
  let best = [...options];
  for (const score of criteria) {
    if (best.length <= 1) break;
    const scores = best.map(score);
    const max = Math.max(...scores);
    best = best.filter((_, i) => scores[i] === max);
  }
  return best[0];
}

/**
 * Where (and whom) to preempt for a pod that failed to fit. `candidates` are the nodes the
 * decision refused for resolvable reasons; the others are reported as not helped by preemption,
 * worded as upstream's post-filter message.
 */
export function findPreemption(
  pod: PodInfo,
  nodes: readonly NodeInfo[],
  candidates: readonly NodeInfo[],
  profile: Profile,
  ctx: SchedulingContext,
  opts: PreemptionOptions = {},
): PreemptionResult {
  const refused = notEligible(pod, nodes);
  if (refused) return { eligible: false, message: refused };
  const fits = fitChecker(pod, nodes, prepareFilters(pod, nodes, profile.filters, ctx), ctx);
  const wanted = Math.max(MIN_CANDIDATES, Math.floor((nodes.length * CANDIDATE_PERCENT) / 100));
  const found: Preemption[] = [];
  let tried = 0;
  for (const node of candidates) {
    if (found.length >= wanted) break;
    tried++;
    const v = selectVictims(pod, node, (n) => fits(n), opts);
    if (v) found.push({ node, ...v });
  }
  const pick = pickPreemption(found);
  if (pick) return { preemption: pick };
  const reasons = new Map<string, number>();
  if (tried) reasons.set("No preemption victims found for incoming pod", tried);
  if (nodes.length - tried) reasons.set("Preemption is not helpful for scheduling", nodes.length - tried);
  return { eligible: true, message: fitErrorMessage(nodes.length, reasons) };
}
