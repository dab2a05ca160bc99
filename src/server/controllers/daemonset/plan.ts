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

/** Whether a RollingUpdate may run a new pod beside an old one on a node (maxSurge above 0). */
export const allowsSurge = (ds: DaemonSet) =>
  (ds.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate" && scaled(ds.spec?.updateStrategy?.rollingUpdate?.maxSurge, 1, 0) > 0;

/**
 * Groups the DaemonSet's pods by node and decides creates and deletes (upstream's
 * podsShouldBeOnNode). One pod per node; while surging, one old and one new (`hash`) pod.
 */
export function planNodes(ds: DaemonSet, nodes: Node[], pods: Pod[], pendingOn: (node: string) => boolean, hash = ""): Plan {
  const byNode = new Map<string, Pod[]>();
  for (const p of pods) {
    const n = p.spec?.nodeName;
    if (!n || p.metadata.deletionTimestamp) continue;
    byNode.set(n, [...(byNode.get(n) ?? []), p]);
  }
  const surge = allowsSurge(ds);
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
    } else if (!surge && live.length > 1) {
      // Keep the oldest; more than one daemon pod per node is a mistake to undo.
      for (const p of live.slice(1)) plan.delete.push({ pod: p, why: `more than one daemon pod on node ${name}` });
      live = live.slice(0, 1);
    } else if (surge && live.length > 1) {
      // Surging: the oldest new pod and the oldest old pod may both stay.
      const oldestNew = live.find((p) => isUpdated(p, hash));
      const oldestOld = live.find((p) => !isUpdated(p, hash));
      for (const p of live) if (p !== oldestNew && p !== oldestOld) plan.delete.push({ pod: p, why: `more than one daemon pod of a revision on node ${name}` });
      live = live.filter((p) => p === oldestNew || p === oldestOld);
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

const isUpdated = (p: Pod, hash: string) => !!hash && p.metadata.labels?.[REVISION_HASH] === hash;

/** upstream's findUpdatedPodsOnNode: the node's new and old pod, or ok=false with more than one of either. */
function splitOnNode(live: Pod[], hash: string): { newPod?: Pod; oldPod?: Pod; ok: boolean } {
  let newPod: Pod | undefined;
  let oldPod: Pod | undefined;
  for (const p of live) {
    if (isUpdated(p, hash)) {
      if (newPod) return { ok: false };
      newPod = p;
    } else {
      if (oldPod) return { ok: false };
      oldPod = p;
    }
  }
  return { newPod, oldPod, ok: true };
}

export interface RollingSteps {
  create: string[];
  delete: { pod: Pod; why: string }[];
}

/**
 * upstream's rollingUpdate. Without surge: old pods that are unavailable anyway go at once;
 * available ones go while fewer than maxUnavailable daemon pods are unavailable (the next pass
 * creates their replacements). With maxSurge: a new pod is started beside an old one — at once
 * where the old one is unavailable, on up to maxSurge nodes otherwise — and the old pod is
 * deleted once the new one is available, so every node keeps a running daemon throughout.
 */
export function rollingUpdate(ds: DaemonSet, nodes: NodeState[], hash: string, nowMs: number, pendingOn: (node: string) => boolean = () => false): RollingSteps {
  const steps: RollingSteps = { create: [], delete: [] };
  if ((ds.spec?.updateStrategy?.type ?? "RollingUpdate") !== "RollingUpdate") return steps;
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const ru = ds.spec?.updateStrategy?.rollingUpdate;
  const desired = nodes.filter((n) => n.placement.shouldRun).length;
  const maxSurge = scaled(ru?.maxSurge, desired, 0);
  let maxUnavailable = scaled(ru?.maxUnavailable, desired, 1);
  // An impossible configuration (the API refuses it) falls back to one unavailable at a time.
  if (desired > 0 && maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  const available = (p: Pod) => isPodAvailable(p, minReady, nowMs);
  // The nodes that have daemon pods or should (upstream's nodeToDaemonPods), in a stable order.
  const considered = nodes.filter((n) => n.live.length || n.placement.shouldRun).sort((a, b) => a.node.localeCompare(b.node));

  if (maxSurge === 0) {
    let unavailable = 0;
    const replace: Pod[] = [];
    const candidates: Pod[] = [];
    for (const n of considered) {
      const { newPod, oldPod, ok } = splitOnNode(n.live, hash);
      if (!ok || (!newPod && !oldPod) || (newPod && oldPod)) unavailable++;
      else if (newPod) {
        if (!available(newPod)) unavailable++;
      } else if (oldPod) {
        if (!available(oldPod)) replace.push(oldPod);
        else if (unavailable < maxUnavailable) candidates.push(oldPod);
      }
    }
    const room = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
    for (const p of replace) steps.delete.push({ pod: p, why: "rolling update (old and unavailable)" });
    for (const p of candidates.slice(0, room)) steps.delete.push({ pod: p, why: "rolling update" });
    return steps;
  }

  let surging = 0;
  let numAvailable = 0;
  const allowedNew: string[] = [];
  const candidateNew: string[] = [];
  const shouldNotRun: Pod[] = [];
  for (const n of considered) {
    const { newPod, oldPod, ok } = splitOnNode(n.live, hash);
    if (!ok) {
      surging++;
      continue;
    }
    if (oldPod ? available(oldPod) : newPod && available(newPod)) numAvailable++;
    if (!oldPod) continue; // nothing to replace here; the main pass creates a missing pod
    if (!newPod) {
      if (pendingOn(n.node)) {
        surging++; // its new pod is being created
        continue;
      }
      if (!available(oldPod)) {
        if (!n.placement.shouldRun) steps.delete.push({ pod: oldPod, why: "rolling update (old, unavailable, node no longer eligible)" });
        else allowedNew.push(n.node);
      } else if (!n.placement.shouldRun) shouldNotRun.push(oldPod);
      else if (surging < maxSurge) candidateNew.push(n.node);
      continue;
    }
    // Already surged here: the old pod goes once the new one is available.
    if (!available(newPod)) surging++;
    else steps.delete.push({ pod: oldPod, why: "rolling update (replacement available)" });
  }
  // Pods on nodes the DaemonSet no longer wants go only while enough pods elsewhere are available.
  const deletable = Math.min(Math.max(0, numAvailable - desired), shouldNotRun.length);
  for (const p of shouldNotRun.slice(0, deletable)) steps.delete.push({ pod: p, why: "rolling update (node no longer eligible)" });
  const room = Math.min(Math.max(0, maxSurge - surging), candidateNew.length);
  steps.create.push(...allowedNew, ...candidateNew.slice(0, room));
  return steps;
}

export function daemonSetStatus(ds: DaemonSet, nodes: NodeState[], hash: string, nowMs: number, collisionCount = ds.status?.collisionCount): NonNullable<DaemonSet["status"]> {
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
    ...(collisionCount !== undefined && { collisionCount }),
    ...(ds.status?.conditions && { conditions: ds.status.conditions }),
  };
}
