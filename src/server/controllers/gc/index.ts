// startGarbageCollector: watches every resource type that can own or be owned (all served types
// but Events, which never carry ownerReferences in practice and churn the most), keeps the
// ownership graph, and reconciles by object uid. See collector.ts for the rules.
import { KINDS, sameResource } from "../../../api/kinds";
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import { resources as allResources } from "../../../api/registry";
import type { KubeClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { SharedInformers } from "../informers";
import { ControlLoop } from "../../../machinery/controlloop";
import { Collector, FOREGROUND, ORPHAN } from "./collector";
import { OwnershipGraph } from "./graph";

/** Never followed, as upstream's DefaultIgnoredResources: Events carry no ownerReferences in practice and churn the most. */
const IGNORED = [KINDS.events];

export interface GarbageCollectorOptions {
  /** The resource types to collect across; defaults to every served type but Events. */
  resources?: ResourceDef[];
  /** Caches shared with the other controllers; its own when absent. */
  informers?: SharedInformers;
}

export async function startGarbageCollector(client: KubeClient, opts: GarbageCollectorOptions = {}): Promise<{ stop(): Promise<void> }> {
  const resources = opts.resources ?? allResources.filter((d) => !IGNORED.some((k) => sameResource(d, k)));
  const shared = opts.informers ?? new SharedInformers(client);
  const graph = new OwnershipGraph();
  const events = new EventRecorder(client, "garbage-collector-controller");
  // The loop's queue exists from construction, so the collector may enqueue through it.
  let loop!: ControlLoop;
  const collector = new Collector(client, graph, resources, events, (uid) => loop.enqueue(uid));
  loop = new ControlLoop(collector, 4);

  const relevant = (o: KubeObject) => {
    const m = o.metadata;
    return !!m.ownerReferences?.length || (!!m.deletionTimestamp && !!m.finalizers?.some((f) => f === FOREGROUND || f === ORPHAN));
  };
  /** Owners that may be waiting on this object (foreground deletion) look again. */
  const wakeOwners = (uids: string[]) => {
    for (const uid of uids) if (graph.get(uid)?.obj.metadata.deletionTimestamp) loop.enqueue(uid);
  };

  const informers = resources.map((def) =>
    // Types other controllers cache in full are shared; for the rest (configmaps, secrets,
    // leases...) metadata only, which is all ownership needs.
    shared.on(shared.getShared(def), {
      add(obj) {
        graph.upsert(def, obj);
        if (relevant(obj)) loop.enqueue(obj.metadata.uid!);
      },
      update(_old, obj) {
        const before = graph.upsert(def, obj);
        if (relevant(obj)) loop.enqueue(obj.metadata.uid!);
        wakeOwners(before);
      },
      delete(obj) {
        graph.remove(obj);
        // Its dependents may now have dangling references; its owners may be waiting for it.
        for (const uid of graph.dependentUids(obj.metadata.uid!)) loop.enqueue(uid);
        wakeOwners((obj.metadata.ownerReferences ?? []).map((r) => r.uid));
      },
    }),
  );
  // Judge nothing before every cache has its first list: an owner not yet listed is not gone.
  await Promise.all(informers.map((i) => shared.start(i)));
  loop.start();
  return {
    async stop() {
      await loop.stop();
      if (!opts.informers) shared.stop();
    },
  };
}
