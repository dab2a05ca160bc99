// startNamespaceController: finishes the deletion of a Terminating namespace. The API server only
// marks it (deletionTimestamp, phase Terminating) and refuses new content; this controller
// deletes everything in it, resource type by resource type, waits until nothing is left (pods in
// their grace period, objects held by finalizers), then removes the namespace's `kubernetes`
// finalizer, which is what lets the namespace itself go (upstream's namespace controller).
import type { ResourceDef } from "../../../api/resource";
import { resources as allResources } from "../../../api/registry";
import type { Namespace } from "../../../api/resources/core/namespace";
import { namespaces } from "../../../api/resources/core/namespace";
import type { KubeClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { SharedInformers } from "../informers";
import { ControlLoop } from "../../../machinery/controlloop";
import { NamespaceDrainer } from "./drain";

export interface NamespaceControllerOptions {
  /** Namespaced types to empty; defaults to every served namespaced type. */
  resources?: ResourceDef[];
  /** How often a namespace with content left (e.g. pods terminating) is looked at again. */
  recheckMs?: number;
  informers?: SharedInformers;
}

export async function startNamespaceController(client: KubeClient, opts: NamespaceControllerOptions = {}): Promise<{ stop(): Promise<void> }> {
  const types = (opts.resources ?? allResources).filter((d) => d.namespaced);
  const recheckMs = opts.recheckMs ?? 2000;
  const events = new EventRecorder(client, "namespace-controller");
  const shared = opts.informers ?? new SharedInformers(client);
  const informer = shared.get<Namespace>(namespaces);
  const drainer = new NamespaceDrainer(client, types);
  const loop = new ControlLoop({
    name: "namespace-controller",
    async reconcile(name) {
      const ns = informer.get(name);
      if (!ns?.metadata.deletionTimestamp) return;
      const remaining = await drainer.drain(name);
      if (remaining.length) return { requeueAfterMs: recheckMs };
      await drainer.finalize(ns);
    },
    onError(name, e) {
      const ns = informer.get(name);
      if (ns) events.event({ ...ns, apiVersion: "v1", kind: "Namespace" }, "Warning", "NamespaceDeletionContentFailure", String(e instanceof Error ? e.message : e));
    },
  });
  const enqueueIfTerminating = (ns: Namespace) => {
    if (ns.metadata.deletionTimestamp) loop.enqueue(ns.metadata.name!);
  };
  shared.on(informer, { add: enqueueIfTerminating, update: (_, ns) => enqueueIfTerminating(ns) });
  await shared.start(informer);
  loop.start();
  return {
    async stop() {
      await loop.stop();
      if (!opts.informers) shared.stop();
    },
  };
}
