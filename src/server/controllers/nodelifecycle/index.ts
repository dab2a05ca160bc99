// startNodeLifecycleController: the node monitor (heartbeats → Ready=Unknown, lost pods, lifecycle
// taints) and the NoExecute taint manager (evictions), on shared node, lease and pod caches.
import { leases as leasesDef, type Lease } from "../../../api/resources/lease";
import { nodes as nodesDef, type Node } from "../../../api/resources/node";
import { pods as podsDef, type Pod } from "../../../api/resources/pod";
import { jsonEqual } from "../../../api/resources/common";
import type { KubeClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { Informer, objectKeyOf } from "../../../client/informer";
import { ControlLoop } from "../loop";
import { TaintEviction } from "./eviction";
import { NodeMonitor } from "./monitor";
import { PodsByNode } from "./podsbynode";

export interface NodeLifecycleOptions {
  /** A node whose heartbeat is older than this is Unknown (upstream --node-monitor-grace-period). */
  nodeMonitorGracePeriodS?: number;
  /** Toleration given to pods without one for not-ready/unreachable (upstream's admission default is 300). */
  notReadyTolerationS?: number;
}

export async function startNodeLifecycleController(client: KubeClient, opts: NodeLifecycleOptions = {}): Promise<{ stop(): Promise<void> }> {
  const graceMs = (opts.nodeMonitorGracePeriodS ?? 20) * 1000;
  const nodes = new Informer(client.resource<Node>(nodesDef));
  const leases = new Informer(client.resource<Lease>(leasesDef), { namespace: "kube-node-lease" });
  const pods = new Informer(client.resource<Pod>(podsDef));
  const podsOnNode = new PodsByNode(pods);

  const monitor = new NodeMonitor(client, nodes, leases, podsOnNode, new EventRecorder(client, "node-controller"), graceMs);
  const monitorLoop = new ControlLoop(monitor, 2);
  const eviction = new TaintEviction(client, pods, nodes, new EventRecorder(client, "taint-eviction-controller"), opts.notReadyTolerationS ?? 10);
  const evictionLoop = new ControlLoop(eviction, 4);

  const noExecute = (n: Node | undefined) => (n?.spec?.taints ?? []).filter((t) => t.effect === "NoExecute");
  nodes.on({
    add: (n) => monitorLoop.enqueue(n.metadata.name!),
    update(old, n) {
      monitorLoop.enqueue(n.metadata.name!);
      if (!jsonEqual(noExecute(old), noExecute(n))) for (const k of podsOnNode.keys(n.metadata.name!)) evictionLoop.enqueue(k);
    },
    delete: (n) => monitor.forget(n.metadata.name!),
  });
  leases.on({ add: (l) => monitorLoop.enqueue(l.metadata.name!), update: (_, l) => monitorLoop.enqueue(l.metadata.name!) });
  const checkPod = (p: Pod) => {
    if (noExecute(nodes.get(p.spec?.nodeName ?? "")).length) evictionLoop.enqueue(objectKeyOf(p));
  };
  pods.on({ add: checkPod, update: (_, p) => checkPod(p) });

  await Promise.all([nodes.start(), leases.start(), pods.start()]);
  monitorLoop.start();
  evictionLoop.start();
  return {
    async stop() {
      for (const i of [nodes, leases, pods]) i.stop();
      await Promise.all([monitorLoop.stop(), evictionLoop.stop()]);
    },
  };
}
