// startDaemonSetController: DaemonSets, nodes, pods and ControllerRevisions in caches; node
// changes (join, leave, labels, taints) re-check every DaemonSet, pod and revision changes their
// controlling DaemonSet.
import type { KubeObject } from "../../../api/meta";
import { selectorMatches } from "../../../api/resources/common";
import type { ControllerRevision } from "../../../api/resources/apps/controllerrevision";
import { daemonSets as dsDef, type DaemonSet } from "../../../api/resources/apps/daemonset";
import { nodes as nodesDef, type Node } from "../../../api/resources/core/node";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import { jsonEqual } from "../../../api/resources/common";
import type { KubeClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { objectKeyOf } from "../../../client/informer";
import { RevisionHistory } from "../history";
import { SharedInformers } from "../informers";
import { ControlLoop } from "../../../machinery/controlloop";
import { NamespaceIndex } from "../nsindex";
import { controllerRefOf } from "../podutil";
import { DaemonSetController } from "./controller";

export { DaemonSetController } from "./controller";

export async function startDaemonSetController(client: KubeClient, opts: { informers?: SharedInformers } = {}): Promise<{ stop(): Promise<void> }> {
  const shared = opts.informers ?? new SharedInformers(client);
  const daemonSets = shared.get<DaemonSet>(dsDef);
  const nodes = shared.get<Node>(nodesDef);
  const pods = shared.get<Pod>(podsDef);
  // Registered while the caches are still empty (startControllers sets every controller up before
  // any list arrives), so the index sees every pod.
  const podsByNamespace = NamespaceIndex.of(pods, shared);
  const history = new RevisionHistory(client, RevisionHistory.informer(shared), shared);
  const controller = new DaemonSetController(client, daemonSets, nodes, podsByNamespace, new EventRecorder(client, "daemonset-controller"), history);
  const loop = new ControlLoop(controller, 2);

  const enqueueAll = () => daemonSets.list().forEach((ds) => loop.enqueue(objectKeyOf(ds)));
  shared.on(daemonSets, { add: (d) => loop.enqueue(objectKeyOf(d)), update: (_, d) => loop.enqueue(objectKeyOf(d)), delete: (d) => loop.enqueue(objectKeyOf(d)) });
  const placementInputs = (n: Node) => [n.metadata.labels, n.spec?.taints];
  shared.on(nodes, {
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
  shared.on(pods, { add: (p) => onPod(p, true), update: (_, p) => onPod(p), delete: (p) => onPod(p) });
  // A revision changed or gone (deleted by hand, adopted elsewhere): its DaemonSet looks again.
  const onRevision = (r: ControllerRevision) => {
    const ref = controllerRefOf(r);
    if (ref?.kind === "DaemonSet") loop.enqueue(`${r.metadata.namespace}/${ref.name}`);
    else if (!ref)
      for (const ds of daemonSets.list())
        if (ds.metadata.namespace === r.metadata.namespace && selectorMatches(ds.spec?.selector, r.metadata.labels)) loop.enqueue(objectKeyOf(ds));
  };
  shared.on(history.informer, { add: onRevision, update: (_, r) => onRevision(r), delete: onRevision });

  await Promise.all([daemonSets, nodes, pods, history.informer].map((i) => shared.start(i)));
  loop.start();
  return {
    async stop() {
      await loop.stop();
      if (!opts.informers) shared.stop();
    },
  };
}
