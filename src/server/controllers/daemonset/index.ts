// startDaemonSetController: DaemonSets, nodes and pods in caches; node changes (join, leave,
// labels, taints) re-check every DaemonSet, pod changes their controlling DaemonSet.
import type { KubeObject } from "../../../api/meta";
import { selectorMatches } from "../../../api/resources/common";
import { daemonSets as dsDef, type DaemonSet } from "../../../api/resources/daemonset";
import { nodes as nodesDef, type Node } from "../../../api/resources/node";
import { pods as podsDef, type Pod } from "../../../api/resources/pod";
import { jsonEqual } from "../../../api/resources/common";
import type { KubeClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { Informer, objectKeyOf } from "../../../client/informer";
import { ControlLoop } from "../loop";
import { NamespaceIndex } from "../nsindex";
import { controllerRefOf } from "../podutil";
import { DaemonSetController } from "./controller";

export { DaemonSetController } from "./controller";

export async function startDaemonSetController(client: KubeClient): Promise<{ stop(): Promise<void> }> {
  const daemonSets = new Informer(client.resource<DaemonSet>(dsDef));
  const nodes = new Informer(client.resource<Node>(nodesDef));
  const pods = new Informer(client.resource<Pod>(podsDef));
  const podsByNamespace = new NamespaceIndex(pods);
  const controller = new DaemonSetController(client, daemonSets, nodes, podsByNamespace, new EventRecorder(client, "daemonset-controller"));
  const loop = new ControlLoop(controller, 2);

  const enqueueAll = () => daemonSets.list().forEach((ds) => loop.enqueue(objectKeyOf(ds)));
  daemonSets.on({ add: (d) => loop.enqueue(objectKeyOf(d)), update: (_, d) => loop.enqueue(objectKeyOf(d)), delete: (d) => loop.enqueue(objectKeyOf(d)) });
  const placementInputs = (n: Node) => [n.metadata.labels, n.spec?.taints];
  nodes.on({
    add: enqueueAll,
    delete: enqueueAll,
    update: (old, n) => {
      if (!jsonEqual(placementInputs(old), placementInputs(n))) enqueueAll();
    },
  });
  const onPod = (p: Pod, added = false) => {
    const ref = controllerRefOf(p as KubeObject);
    if (ref?.kind === "DaemonSet") {
      const key = `${p.metadata.namespace}/${ref.name}`;
      if (added) controller.observed(key, p.spec?.nodeName);
      loop.enqueue(key);
    } else if (!ref) {
      // An orphan a DaemonSet may adopt.
      for (const ds of daemonSets.list())
        if (ds.metadata.namespace === p.metadata.namespace && selectorMatches(ds.spec?.selector, p.metadata.labels)) loop.enqueue(objectKeyOf(ds));
    }
  };
  pods.on({ add: (p) => onPod(p, true), update: (_, p) => onPod(p), delete: (p) => onPod(p) });

  await Promise.all([daemonSets.start(), nodes.start(), pods.start()]);
  loop.start();
  return {
    async stop() {
      for (const i of [daemonSets, nodes, pods]) i.stop();
      await loop.stop();
    },
  };
}
