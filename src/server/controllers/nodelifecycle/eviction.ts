// The NoExecute taint manager: a pod on a node with NoExecute taints is deleted once its
// tolerations for them run out (see taints.ts). On a node whose agent is unreachable nothing
// would ever finish a graceful deletion, so those pods are force-deleted (grace 0) and their
// owners recreate them elsewhere at once; elsewhere the deletion is graceful.
import { ApiError } from "../../../api/errors";
import type { Node, Taint } from "../../../api/resources/core/node";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import type { KubeClient } from "../../../client/client";
import type { EventRecorder } from "../../../client/events";
import type { Informer } from "../../../client/informer";
import type { ReconcileResult, Reconciler } from "../../../machinery/controlloop";
import { evictionDeadline, UNREACHABLE } from "./taints";

export class TaintEviction implements Reconciler {
  readonly name = "taint-eviction";
  /** First sight of taints without timeAdded, so their clocks do not restart on every pass. */
  private readonly firstSeen = new Map<string, number>();

  constructor(
    private readonly client: KubeClient,
    private readonly pods: Informer<Pod>,
    private readonly nodes: Informer<Node>,
    private readonly events: EventRecorder,
    private readonly defaultNotReadyTolerationS: number,
  ) {}

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const pod = this.pods.get(key);
    const nodeName = pod?.spec?.nodeName;
    if (!pod || !nodeName) return;
    const node = this.nodes.get(nodeName);
    const taints = (node?.spec?.taints ?? []).filter((t) => t.effect === "NoExecute");
    if (!taints.length) return;
    const deadline = evictionDeadline(pod.spec?.tolerations, taints, {
      defaultNotReadyTolerationS: this.defaultNotReadyTolerationS,
      taintSince: (t) => this.since(nodeName, t),
    });
    if (deadline === undefined) return;
    const now = Date.now();
    if (deadline > now) return { requeueAfterMs: deadline - now + 10 };
    const force = taints.some((t) => t.key === UNREACHABLE);
    if (pod.metadata.deletionTimestamp && !force) return; // already on its way
    try {
      await this.client.resource<Pod>(podsDef).delete(pod.metadata.namespace, pod.metadata.name!, {
        preconditions: { uid: pod.metadata.uid },
        ...(force && { gracePeriodSeconds: 0 }),
      });
    } catch (e) {
      if (e instanceof ApiError && (e.code === 404 || e.code === 409)) return;
      throw e;
    }
    this.events.event({ ...pod, apiVersion: "v1", kind: "Pod" }, "Normal", "TaintManagerEviction", `Marking for deletion Pod ${key}`);
  }

  private since(node: string, t: Taint): number {
    const k = `${node}|${t.key}|${t.value ?? ""}|${t.effect}`;
    let at = this.firstSeen.get(k);
    if (at === undefined) {
      if (this.firstSeen.size > 10_000) this.firstSeen.clear();
      this.firstSeen.set(k, (at = Date.now()));
    }
    return at;
  }
}
