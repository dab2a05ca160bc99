// startNodeLifecycleController: the node monitor (heartbeats → Ready=Unknown, lost pods, lifecycle
// taints) and the NoExecute taint manager (evictions), on shared node, lease and pod caches.
import { leases as leasesDef, type Lease } from "../../../api/resources/coordination/lease";
import { nodes as nodesDef, type Node } from "../../../api/resources/core/node";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import { jsonEqual } from "../../../api/resources/common";
import type { KubeClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { objectKeyOf } from "../../../client/informer";
import { SharedInformers } from "../informers";
import { ControlLoop } from "../../../machinery/controlloop";
import { TaintEviction } from "./eviction";
import { NodeMonitor } from "./monitor";
import { PodsByNode } from "./podsbynode";

export interface NodeLifecycleOptions {
  /** A node whose heartbeat is older than this is Unknown (upstream --node-monitor-grace-period). */
  nodeMonitorGracePeriodS?: number;
  /** Toleration given to pods without one for not-ready/unreachable (upstream's admission default is 300). */
  notReadyTolerationS?: number;
  informers?: SharedInformers;
}

export async function startNodeLifecycleController(client: KubeClient, opts: NodeLifecycleOptions = {}): Promise<{ stop(): Promise<void> }> {
  const graceMs = (opts.nodeMonitorGracePeriodS ?? 20) * 1000;
  const shared = opts.informers ?? new SharedInformers(client);
  const nodes = shared.get<Node>(nodesDef);
  const leases = shared.get<Lease>(leasesDef, { namespace: "kube-node-lease" });
  const pods = shared.get<Pod>(podsDef);
  const podsOnNode = new PodsByNode(shared, pods);

  const monitor = new NodeMonitor(client, nodes, leases, podsOnNode, new EventRecorder(client, "node-controller"), graceMs);
  const monitorLoop = new ControlLoop(monitor, 2);
  const eviction = new TaintEviction(client, pods, nodes, new EventRecorder(client, "taint-eviction-controller"), opts.notReadyTolerationS ?? 10);
  const evictionLoop = new ControlLoop(eviction, 4);

  const noExecute = (n: Node | undefined) => (n?.spec?.taints ?? []).filter((t) => t.effect === "NoExecute");
  shared.on(nodes, {
    add: (n) => monitorLoop.enqueue(n.metadata.name!),
    update(old, n) {
      monitorLoop.enqueue(n.metadata.name!);
      if (!jsonEqual(noExecute(old), noExecute(n))) for (const k of podsOnNode.keys(n.metadata.name!)) evictionLoop.enqueue(k);
    },
    delete: (n) => monitor.forget(n.metadata.name!),
  });
  shared.on(leases, { add: (l) => monitorLoop.enqueue(l.metadata.name!), update: (_, l) => monitorLoop.enqueue(l.metadata.name!) });
  const checkPod = (p: Pod) => {
    if (noExecute(nodes.get(p.spec?.nodeName ?? "")).length) evictionLoop.enqueue(objectKeyOf(p));
  };
  shared.on(pods, { add: checkPod, update: (_, p) => checkPod(p) });

  await Promise.all([nodes, leases, pods].map((i) => shared.start(i)));
  monitorLoop.start();
  evictionLoop.start();
  return {
    async stop() {
      await Promise.all([monitorLoop.stop(), evictionLoop.stop()]);
      if (!opts.informers) shared.stop();
    },
  };
}
