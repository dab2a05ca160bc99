// The scheduler's cache: nodes and the pods on them, fed by informers, plus "assumed" placements
// the scheduler has decided but the API has not confirmed yet. Counting assumed pods right away
// lets the next pod be placed without waiting for the bind round trip; an assumption ends when
// the pod's bound update arrives (it becomes a plain bound pod) or when the bind fails (forget).
import type { Node } from "../../api/resources/node";
import type { Pod } from "../../api/resources/pod";
import { buildNodeInfo, withoutPod, withPod } from "./nodeinfo";
import { buildPodInfo, podKey } from "./podinfo";
import type { NodeInfo, PodInfo } from "./types";

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
    if (nodeName && !isTerminal(pod)) {
      // Bound: this confirms (or overrides, if someone else bound it elsewhere) any assumption.
      this.remove(key);
      this.place({ info: buildPodInfo(pod), nodeName, assumed: false });
    } else if (!current?.assumed) {
      // Unbound or finished. An assumed pod stays assumed: its bind is in flight and this update
      // may predate it (our own status patch, a label change).
      this.remove(key);
    }
  }

  removePod(key: string) {
    this.remove(key);
  }

  assume(info: PodInfo, nodeName: string) {
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
      this.nodes.set(p.nodeName, withoutPod(node, key));
      this.snap = undefined;
    }
  }
}
