// The node monitor: a node whose heartbeat has not changed for the grace period is marked
// Unknown (all conditions), its pods are marked as lost (Ready=False, reason NodeLost, as
// upstream's MarkPodsNotReady plus the NodeLost reason kubectl shows), and its lifecycle
// taints follow its Ready condition (the taint manager then evicts its pods).
import type { Lease } from "../../../api/resources/coordination/lease";
import { nodes as nodesDef, type Node } from "../../../api/resources/core/node";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import { ApiError } from "../../../api/errors";
import type { KubeClient } from "../../../client/client";
import type { EventRecorder } from "../../../client/events";
import type { Informer } from "../../../client/informer";
import type { ReconcileResult, Reconciler } from "../../../machinery/controlloop";
import { heartbeatOf, readyCondition, taintsFor, unknownConditions } from "./health";
import type { PodsByNode } from "./podsbynode";

export const NODE_LOST = "NodeLost";
const timestamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
const ignoreNotFound = (e: unknown) => {
  if (!(e instanceof ApiError && e.code === 404)) throw e;
};

export class NodeMonitor implements Reconciler {
  readonly name = "node-lifecycle";
  /** node → the last heartbeat seen and when, on our clock (so agents' clocks need not agree). */
  private readonly seen = new Map<string, { beat: string; at: number }>();

  constructor(
    private readonly client: KubeClient,
    private readonly nodes: Informer<Node>,
    private readonly leases: Informer<Lease>,
    private readonly podsOnNode: PodsByNode,
    private readonly events: EventRecorder,
    private readonly graceMs: number,
  ) {}

  forget(name: string) {
    this.seen.delete(name);
  }

  async reconcile(name: string): Promise<ReconcileResult | void> {
    const node = this.nodes.get(name);
    if (!node) return this.forget(name);
    const now = Date.now();
    const beat = heartbeatOf(node, this.leases.get(`kube-node-lease/${name}`));
    let seen = this.seen.get(name);
    if (!seen || seen.beat !== beat) this.seen.set(name, (seen = { beat, at: now }));
    const stale = now - seen.at > this.graceMs;

    let current = node;
    if (stale) {
      const conditions = unknownConditions(node.status?.conditions, timestamp());
      if (conditions) {
        current = await this.client.resource<Node>(nodesDef).patch(undefined, name, { status: { conditions } }, "strategic", "status");
        this.events.event(withKind(node), "Normal", "NodeNotReady", `Node ${name} status is now: NodeNotReady`);
      }
      if (readyCondition(current)?.status === "Unknown") await this.markPodsLost(name);
    }
    await this.syncTaints(current);
    // Look again when the grace period would run out, or periodically once already stale.
    return { requeueAfterMs: stale ? this.graceMs : Math.max(50, seen.at + this.graceMs - now + 50) };
  }

  /** Taints follow the Ready condition; a stale cache costs one fresh read, not a failed pass. */
  private async syncTaints(node: Node) {
    const nodes = this.client.resource<Node>(nodesDef);
    for (let attempt = 0; ; attempt++) {
      const taints = taintsFor(node, timestamp());
      if (!taints) return;
      try {
        await nodes.update({ ...node, spec: { ...node.spec, taints } });
        return;
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 409) || attempt >= 2) throw e;
        node = await nodes.get(undefined, node.metadata.name!);
      }
    }
  }

  private async markPodsLost(node: string) {
    for (const pod of this.podsOnNode.podsOn(node)) {
      const phase = pod.status?.phase;
      if (phase === "Succeeded" || phase === "Failed" || pod.status?.reason === NODE_LOST) continue;
      const ready = pod.status?.conditions?.find((c) => c.type === "Ready");
      const patch = {
        status: {
          reason: NODE_LOST,
          message: `Node ${node} which was running pod ${pod.metadata.name} is unresponsive`,
          conditions: [{ type: "Ready", status: "False", lastTransitionTime: ready?.status === "False" ? ready.lastTransitionTime : timestamp() }],
        },
      };
      await this.client.resource<Pod>(podsDef).patch(pod.metadata.namespace, pod.metadata.name!, patch, "strategic", "status").catch(ignoreNotFound);
    }
  }
}

const withKind = (node: Node): Node => ({ ...node, apiVersion: "v1", kind: "Node" });
