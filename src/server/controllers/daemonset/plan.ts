// Pure planning for one DaemonSet: which nodes need a pod, which pods must go (misplaced,
// duplicated, failed, or old ones a rolling update may replace now), and the status.
import type { DaemonSet } from "../../../api/resources/apps/daemonset";
import type { Node } from "../../../api/resources/core/node";
import type { Pod } from "../../../api/resources/core/pod";
import { isPodAvailable, isPodReady } from "../podutil";
import { placementOn, type Placement } from "./eligibility";
import { REVISION_HASH } from "./pods";

export interface NodeState {
  node: string;
  placement: Placement;
  /** Daemon pods here that are not terminating, oldest first. */
  live: Pod[];
}

export interface Plan {
  create: string[];
  delete: { pod: Pod; why: string }[];
  nodes: NodeState[];
}

const created = (p: Pod) => Date.parse(p.metadata.creationTimestamp ?? "") || 0;

/** Groups the DaemonSet's pods by node and decides creates and deletes (upstream's podsShouldBeOnNode). */
export function planNodes(ds: DaemonSet, nodes: Node[], pods: Pod[], pendingOn: (node: string) => boolean): Plan {
  const byNode = new Map<string, Pod[]>();
  for (const p of pods) {
    const n = p.spec?.nodeName;
    if (!n || p.metadata.deletionTimestamp) continue;
    byNode.set(n, [...(byNode.get(n) ?? []), p]);
  }
  const plan: Plan = { create: [], delete: [], nodes: [] };
  for (const node of nodes) {
    const name = node.metadata.name!;
    const placement = placementOn(node, ds.spec?.template.spec);
    const here = (byNode.get(name) ?? []).sort((a, b) => created(a) - created(b) || a.metadata.name!.localeCompare(b.metadata.name!));
    // A failed daemon pod is replaced (upstream deletes it; the next pass creates a new one).
    for (const p of here.filter((p) => p.status?.phase === "Failed")) plan.delete.push({ pod: p, why: "failed" });
    let live = here.filter((p) => p.status?.phase !== "Failed");
    if (placement.shouldRun && !live.length && !pendingOn(name)) plan.create.push(name);
    if (!placement.shouldContinueRunning) {
      for (const p of live) plan.delete.push({ pod: p, why: `node ${name} is no longer eligible` });
      live = [];
    } else if (live.length > 1) {
      // Keep the oldest; more than one daemon pod per node is a mistake to undo.
      for (const p of live.slice(1)) plan.delete.push({ pod: p, why: `more than one daemon pod on node ${name}` });
      live = live.slice(0, 1);
    }
    plan.nodes.push({ node: name, placement, live });
  }
  return plan;
}

/** A percentage of `total`, rounded up (upstream's GetScaledValueFromIntOrPercent with roundUp). */
export function scaled(v: number | string | undefined, total: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v);
  return m ? Math.ceil((Number(m[1]) * total) / 100) : Number(v) || fallback;
}

/**
 * RollingUpdate: old pods that are unavailable anyway go first and freely; available old ones
 * go while fewer than maxUnavailable daemon pods are unavailable. maxSurge is not used: updates
 * always delete before they create (with maxUnavailable 0 it proceeds one node at a time).
 */
export function rollingDeletes(ds: DaemonSet, nodes: NodeState[], hash: string, nowMs: number): { pod: Pod; why: string }[] {
  if ((ds.spec?.updateStrategy?.type ?? "RollingUpdate") !== "RollingUpdate") return [];
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const wanted = nodes.filter((n) => n.placement.shouldRun);
  const maxUnavailable = Math.max(1, scaled(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable, wanted.length, 1));
  const available = (p: Pod | undefined) => !!p && isPodAvailable(p, minReady, nowMs);
  let unavailable = wanted.filter((n) => !available(n.live[0])).length;
  const old = wanted.filter((n) => n.live[0] && n.live[0].metadata.labels?.[REVISION_HASH] !== hash).sort((a, b) => a.node.localeCompare(b.node));
  const out: { pod: Pod; why: string }[] = [];
  for (const n of old) if (!available(n.live[0])) out.push({ pod: n.live[0], why: "rolling update (old and unavailable)" });
  for (const n of old) {
    if (!available(n.live[0])) continue;
    if (unavailable >= maxUnavailable) break;
    out.push({ pod: n.live[0], why: "rolling update" });
    unavailable++;
  }
  return out;
}

export function daemonSetStatus(ds: DaemonSet, nodes: NodeState[], hash: string, nowMs: number): NonNullable<DaemonSet["status"]> {
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const should = nodes.filter((n) => n.placement.shouldRun);
  const scheduled = should.filter((n) => n.live.length);
  const available = scheduled.filter((n) => isPodAvailable(n.live[0], minReady, nowMs)).length;
  return {
    desiredNumberScheduled: should.length,
    currentNumberScheduled: scheduled.length,
    numberMisscheduled: nodes.filter((n) => !n.placement.shouldRun && n.live.length).length,
    numberReady: scheduled.filter((n) => isPodReady(n.live[0])).length,
    numberAvailable: available,
    numberUnavailable: should.length - available,
    updatedNumberScheduled: scheduled.filter((n) => n.live[0].metadata.labels?.[REVISION_HASH] === hash).length,
    observedGeneration: ds.metadata.generation,
    ...(ds.status?.collisionCount !== undefined && { collisionCount: ds.status.collisionCount }),
    ...(ds.status?.conditions && { conditions: ds.status.conditions }),
  };
}
