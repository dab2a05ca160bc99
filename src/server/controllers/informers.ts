// Informers shared by the controllers of one leadership term: one list+watch and one cache per
// resource (and filter), however many controllers read it. Pods are the big one: without
// sharing, every controller that looks at pods would hold its own copy of all of them, which a
// 100 MB server cannot afford at 10,000 pods.
import { KINDS, sameResource } from "../../api/kinds";
import type { KubeObject } from "../../api/meta";
import type { KubeClient, ListOptions, ResourceRef } from "../../client/client";
import { Informer, type InformerHandlers } from "../../client/informer";
import { controllerPodView } from "./podview";

/** The slimmer view the control loops keep of a resource's objects, where one is defined. */
const viewOf = (ref: ResourceRef) => (sameResource(ref, KINDS.pods) ? (controllerPodView as unknown as (o: KubeObject) => KubeObject) : undefined);

/**
 * Kinds some controller caches in full. For every other kind the controllers that only need
 * identity and ownership (the garbage collector, quota's object counts) share one
 * metadata-only cache; getShared picks whichever of the two exists for a kind.
 */
const CACHED_IN_FULL: ResourceRef[] = [
  KINDS.pods, KINDS.nodes, KINDS.replicaSets, KINDS.replicationControllers, KINDS.deployments, KINDS.daemonSets, KINDS.services, KINDS.endpoints, KINDS.endpointSlices,
  KINDS.namespaces, KINDS.serviceAccounts, KINDS.resourceQuotas, KINDS.controllerRevisions, KINDS.podDisruptionBudgets, KINDS.statefulSets, KINDS.persistentVolumeClaims, KINDS.jobs, KINDS.cronJobs,
  KINDS.persistentVolumes, KINDS.storageClasses,
];

type Filter = Pick<ListOptions, "fieldSelector" | "labelSelector"> & { namespace?: string };

export class SharedInformers {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly started = new Set<Informer<KubeObject>>();
  private readonly synced = new Set<Informer<KubeObject>>();

  constructor(private readonly client: KubeClient) {}

  /** The informer for a resource and filter (pods: in their controllerPodView); created on first use, not started. */
  get<T extends KubeObject>(ref: ResourceRef, filter: Filter = {}): Informer<T> {
    const key = `${ref.group}/${ref.plural}?${filter.namespace ?? ""}&${filter.fieldSelector ?? ""}&${filter.labelSelector ?? ""}`;
    let inf = this.informers.get(key);
    if (!inf) this.informers.set(key, (inf = new Informer(this.client.resource(ref), { ...filter, transform: viewOf(ref) })));
    return inf as unknown as Informer<T>;
  }

  /**
   * An informer that caches only apiVersion, kind and the metadata ownership needs (identity,
   * ownerReferences, deletion state): for controllers (the garbage collector) that follow
   * ownership of types whose bodies, labels and annotations no one else here needs. Its objects
   * are for reading and patching, never for writing back whole.
   */
  getMetadata<T extends KubeObject>(ref: ResourceRef): Informer<T> {
    const key = `${ref.group}/${ref.plural}#metadata`;
    let inf = this.informers.get(key);
    if (!inf) this.informers.set(key, (inf = new Informer(this.client.resource(ref), { transform: ownershipMetadata })));
    return inf as unknown as Informer<T>;
  }

  /** The cache other controllers keep of a kind: in full for the kinds of CACHED_IN_FULL, metadata only otherwise. */
  getShared<T extends KubeObject>(ref: ResourceRef): Informer<T> {
    return CACHED_IN_FULL.some((k) => sameResource(ref, k)) ? this.get<T>(ref) : this.getMetadata<T>(ref);
  }

  /**
   * Adds handlers. On an informer that is already running, the cached objects are replayed as
   * adds first (synchronously, so no event slips in between), as client-go does for late handlers.
   */
  on<T extends KubeObject>(inf: Informer<T>, h: InformerHandlers<T>): Informer<T> {
    inf.on(h);
    if (this.started.has(inf as unknown as Informer<KubeObject>)) for (const o of inf.list()) h.add?.(o);
    return inf;
  }

  /** Starts an informer once; resolves when its first list has been delivered. */
  start(inf: Informer<KubeObject> | Informer<any>): Promise<void> {
    if (!this.started.has(inf)) {
      this.started.add(inf);
      return inf.start().then(() => void (this.started.has(inf) && this.synced.add(inf)));
    }
    return inf.synced;
  }

  /** Every informer started so far has delivered its first list (readyz's informer-sync). */
  allSynced(): boolean {
    for (const inf of this.started) if (!this.synced.has(inf)) return false;
    return true;
  }

  stop() {
    for (const inf of this.started) inf.stop();
    this.started.clear();
    this.synced.clear();
    this.informers.clear();
  }
}

/** What following ownership reads from an object; the rest would only take memory. */
export function ownershipMetadata(o: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion, ownerReferences, deletionTimestamp, finalizers } = o.metadata;
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      name,
      uid,
      resourceVersion,
      ...(namespace !== undefined && { namespace }),
      ...(ownerReferences && { ownerReferences }),
      ...(deletionTimestamp && { deletionTimestamp }),
      ...(finalizers && { finalizers }),
    },
  };
}
