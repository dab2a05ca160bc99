// startPodGarbageCollector: finishes the pods no agent will finish (upstream's podgc):
// pods bound to a node that does not exist (deleted with `kubectl delete node`, or never
// registered) and terminating pods that are on no node are deleted with grace 0.
import { ApiError } from "../../../api/errors";
import { nodes as nodesDef, type Node } from "../../../api/resources/core/node";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import type { KubeClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { objectKeyOf } from "../../../client/informer";
import { SharedInformers } from "../informers";
import { ControlLoop } from "../../../machinery/controlloop";
import { PodsByNode } from "../nodelifecycle/podsbynode";

export async function startPodGarbageCollector(client: KubeClient, opts: { informers?: SharedInformers } = {}): Promise<{ stop(): Promise<void> }> {
  const shared = opts.informers ?? new SharedInformers(client);
  const events = new EventRecorder(client, "pod-garbage-collector");
  const nodes = shared.get<Node>(nodesDef);
  const pods = shared.get<Pod>(podsDef);
  const podsOnNode = new PodsByNode(shared, pods);
  const podsClient = client.resource<Pod>(podsDef);
  const nodesClient = client.resource<Node>(nodesDef);

  // A node missing from our cache may just be new: only the API server's 404 makes it gone. The
  // answer is remembered for a moment, so a deleted node's hundred pods cost one read, not a hundred.
  const confirmedGone = new Map<string, number>();
  const nodeGone = async (name: string) => {
    if (nodes.get(name)) return false;
    if ((confirmedGone.get(name) ?? 0) > Date.now()) return true;
    try {
      await nodesClient.get(undefined, name);
      return false;
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
      if (confirmedGone.size > 1000) confirmedGone.clear();
      confirmedGone.set(name, Date.now() + 2000);
      return true;
    }
  };

  const loop = new ControlLoop(
    {
      name: "pod-garbage-collector",
      async reconcile(key) {
        const pod = pods.get(key);
        if (!pod) return;
        const node = pod.spec?.nodeName;
        const why = node ? ((await nodeGone(node)) ? `its node ${node} no longer exists` : undefined) : pod.metadata.deletionTimestamp ? "it is terminating on no node" : undefined;
        if (!why) return;
        try {
          await podsClient.delete(pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
        } catch (e) {
          if (e instanceof ApiError && (e.code === 404 || e.code === 409)) return;
          throw e;
        }
        events.event({ ...pod, apiVersion: "v1", kind: "Pod" }, "Normal", "PodGarbageCollected", `Deleted pod ${key}: ${why}`);
      },
    },
    2,
  );
  const check = (p: Pod) => {
    const node = p.spec?.nodeName;
    if (node ? !nodes.get(node) : !!p.metadata.deletionTimestamp) loop.enqueue(objectKeyOf(p));
  };
  shared.on(pods, { add: check, update: (_, p) => check(p) });
  shared.on(nodes, { delete: (n) => podsOnNode.keys(n.metadata.name!).forEach((k) => loop.enqueue(k)) });

  // Nodes first: a pod is judged against a full node list.
  await shared.start(nodes);
  await shared.start(pods);
  loop.start();
  return {
    async stop() {
      await loop.stop();
      if (!opts.informers) shared.stop();
    },
  };
}
