// The scheduler's cache: nodes and the pods on them, fed by informers, plus "assumed" placements
// the scheduler has decided but the API has not confirmed yet. Counting assumed pods right away
// lets the next pod be placed without waiting for the bind round trip; an assumption ends when
// the pod's bound update arrives (it becomes a plain bound pod) or when the bind fails (forget).
//
// Updates are incremental: a pod's requests are added to or subtracted from its node's record
// (never a rebuild from all of the node's pods), and an update that changes nothing the
// scheduler counts (the bind confirmation, the pod going Running) leaves the node untouched.
import type { Node } from "../../api/resources/core/node";
import type { Pod } from "../../api/resources/core/pod";
import { buildNodeInfo, withPod } from "./nodeinfo";
import { buildPodInfo, podKey } from "./podinfo";
import { addResources } from "./resources";
import type { NodeInfo, PodInfo, Resources } from "./types";

interface Placed {
  info: PodInfo;
  nodeName: string;
  assumed: boolean;
}

/** Pods that finished hold no resources (upstream's scheduler ignores them too). */
export const isTerminal = (pod: Pod) => pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";

export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly placed = new Map<string, Placed>();
  /** Pod keys per node name, including nodes the cache has not seen yet (pods may arrive first). */
  private readonly byNode = new Map<string, Set<string>>();
  private snap: readonly NodeInfo[] | undefined;
  /** Pending pods nominated to a node by preemption (status.nominatedNodeName): room held for them. */
  private readonly nominated = new Map<string, { info: PodInfo; nodeName: string }>();

  setNode(node: Node) {
    const name = node.metadata.name!;
    this.nodes.set(name, buildNodeInfo(node, this.podsOn(name)));
    this.snap = undefined;
  }

  removeNode(name: string) {
    this.nodes.delete(name);
    this.snap = undefined;
  }

  /** A pod's add or update from the informer. Bound, running pods count; others do not. */
  setPod(pod: Pod) {
    const key = podKey(pod);
    const nodeName = pod.spec?.nodeName;
    const current = this.placed.get(key);
    const nominatedTo = !nodeName && !isTerminal(pod) && !pod.metadata.deletionTimestamp ? pod.status?.nominatedNodeName : undefined;
    if (nominatedTo) this.nominated.set(key, { info: buildPodInfo(pod), nodeName: nominatedTo });
    else if (this.nominated.size) this.nominated.delete(key);
    if (nodeName && !isTerminal(pod)) {
      // Bound: this confirms (or overrides, if someone else bound it elsewhere) any assumption.
      const info = buildPodInfo(pod);
      if (current?.nodeName === nodeName && sameFootprint(current.info, info)) {
        // Same node, same requests, ports and labels: the node's record stays as it is (its
        // PodInfo may be an earlier version of this pod; nothing it holds differs).
        if (current.assumed) this.placed.set(key, { ...current, assumed: false });
        return;
      }
      this.remove(key);
      this.place({ info, nodeName, assumed: false });
    } else if (!current?.assumed) {
      // Unbound or finished. An assumed pod stays assumed: its bind is in flight and this update
      // may predate it (our own status patch, a label change).
      this.remove(key);
    }
  }

  removePod(key: string) {
    this.remove(key);
    this.nominated.delete(key);
  }

  /** Holds room on a node for a pod that preempted there, until it is bound or gone. */
  nominate(info: PodInfo, nodeName: string) {
    this.nominated.set(info.key, { info, nodeName });
  }

  /** Pods nominated to a node. */
  nominatedOn(nodeName: string): PodInfo[] {
    return [...this.nominated.values()].filter((n) => n.nodeName === nodeName).map((n) => n.info);
  }

  /**
   * The snapshot a pod is decided on: nodes as they are, plus the pods of at least its priority
   * nominated to them (upstream's addNominatedPods), so a pod does not take the room a
   * preemption made for a more important one. Without nominations it is the plain snapshot.
   */
  snapshotFor(pod: PodInfo): readonly NodeInfo[] {
    const nodes = this.snapshot();
    if (this.nominated.size === 0) return nodes;
    const held = new Map<string, PodInfo[]>();
    for (const { info, nodeName } of this.nominated.values()) {
      if (info.key === pod.key || info.priority < pod.priority) continue;
      const list = held.get(nodeName);
      if (list) list.push(info);
      else held.set(nodeName, [info]);
    }
    if (held.size === 0) return nodes;
    return nodes.map((n) => {
      const extra = held.get(n.name);
      if (!extra) return n;
      let out = n;
      for (const p of extra) out = withPod(out, p);
      return out;
    });
  }

  assume(info: PodInfo, nodeName: string) {
    this.nominated.delete(info.key);
    this.remove(info.key);
    this.place({ info, nodeName, assumed: true });
  }

  /** The bind failed: give the resources back. A pod that got bound meanwhile stays. */
  forget(key: string) {
    if (this.placed.get(key)?.assumed) this.remove(key);
  }

  isAssumed(key: string): boolean {
    return !!this.placed.get(key)?.assumed;
  }

  /** The node a pod is placed on (bound or assumed), for tests and diagnostics. */
  nodeOf(key: string): string | undefined {
    return this.placed.get(key)?.nodeName;
  }

  node(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  /**
   * An immutable view of all nodes: a fresh array after each change, and NodeInfos are never
   * changed in place, so a snapshot stays valid. (Readonly by type, not Object.freeze: freezing
   * a 1,000-element array per placement cost a third of the scheduler's time.)
   */
  snapshot(): readonly NodeInfo[] {
    return (this.snap ??= [...this.nodes.values()]);
  }

  private podsOn(nodeName: string): PodInfo[] {
    return [...(this.byNode.get(nodeName) ?? [])].map((k) => this.placed.get(k)!.info);
  }

  private place(p: Placed) {
    this.placed.set(p.info.key, p);
    let keys = this.byNode.get(p.nodeName);
    if (!keys) this.byNode.set(p.nodeName, (keys = new Set()));
    keys.add(p.info.key);
    const node = this.nodes.get(p.nodeName);
    if (node) {
      this.nodes.set(p.nodeName, withPod(node, p.info));
      this.snap = undefined;
    }
  }

  private remove(key: string) {
    const p = this.placed.get(key);
    if (!p) return;
    this.placed.delete(key);
    const keys = this.byNode.get(p.nodeName);
    keys?.delete(key);
    if (keys?.size === 0) this.byNode.delete(p.nodeName);
    const node = this.nodes.get(p.nodeName);
    if (node) {
      const without = withoutPodInfo(node, key);
      if (without !== node) {
        this.nodes.set(p.nodeName, without);
        this.snap = undefined;
      }
    }
  }
}

/**
 * The node without one pod: its requests subtracted, its entries filtered out; linear in the
 * node's pods (a rebuild from the remaining pods would copy the pod list once per pod).
 */
export function withoutPodInfo(info: NodeInfo, key: string): NodeInfo {
  const at = info.pods.findIndex((p) => p.key === key);
  if (at < 0) return info;
  const gone = info.pods[at]!;
  const pods = info.pods.slice();
  pods.splice(at, 1);
  return {
    ...info,
    requested: addResources(info.requested, gone.requests, -1),
    scoreCpu: info.scoreCpu - gone.scoreCpu,
    scoreMemory: info.scoreMemory - gone.scoreMemory,
    usedPorts: gone.hostPorts.length ? pods.flatMap((p) => p.hostPorts) : info.usedPorts,
    pods,
    antiAffinityPods: gone.antiAffinity.length ? info.antiAffinityPods.filter((p) => p.key !== key) : info.antiAffinityPods,
  };
}

const sameResources = (a: Resources, b: Resources) => {
  if (a.cpu !== b.cpu || a.memory !== b.memory || a.pods !== b.pods) return false;
  const ka = Object.keys(a.scalar);
  return ka.length === Object.keys(b.scalar).length && ka.every((k) => a.scalar[k] === b.scalar[k]);
};

const sameLabels = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) => {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
};

/** Whether two versions of a placed pod count the same on their node (requests, ports, labels; no anti-affinity). */
function sameFootprint(a: PodInfo, b: PodInfo): boolean {
  return (
    a.namespace === b.namespace &&
    sameResources(a.requests, b.requests) &&
    a.hostPorts.length === 0 &&
    b.hostPorts.length === 0 &&
    a.antiAffinity.length === 0 &&
    b.antiAffinity.length === 0 &&
    sameLabels(a.labels, b.labels)
  );
}
