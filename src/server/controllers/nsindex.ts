// Indexes over an informer's cache, maintained from its events: objects per namespace, and
// objects per controller (the uid in their controller ownerReference) plus the ones without a
// controller per namespace. With them a reconcile reads one namespace, or only the objects one
// owner controls and the orphans it might adopt, instead of scanning every object it caches.
import type { KubeObject } from "../../api/meta";
import { objectKeyOf, type Informer, type InformerHandlers } from "../../client/informer";
import type { SharedInformers } from "./informers";
import { controllerRefOf } from "./podutil";

/** Registers handlers; through SharedInformers when given, so a running informer replays its cache. */
function register<T extends KubeObject>(informer: Informer<T>, h: InformerHandlers<T>, shared?: SharedInformers) {
  if (shared) shared.on(informer, h);
  else informer.on(h);
}

/** Maps of maps: an outer key (namespace, uid) to the objects under it by object key. */
class Buckets<T> {
  private readonly buckets = new Map<string, Map<string, T>>();

  values(bucket: string): T[] {
    const m = this.buckets.get(bucket);
    return m ? [...m.values()] : [];
  }

  size(bucket: string): number {
    return this.buckets.get(bucket)?.size ?? 0;
  }

  set(bucket: string, key: string, o: T) {
    let m = this.buckets.get(bucket);
    if (!m) this.buckets.set(bucket, (m = new Map()));
    m.set(key, o);
  }

  delete(bucket: string, key: string) {
    const m = this.buckets.get(bucket);
    if (!m) return;
    m.delete(key);
    if (m.size === 0) this.buckets.delete(bucket);
  }
}

const sharedNamespaceIndexes = new WeakMap<Informer<any>, NamespaceIndex<any>>();

export class NamespaceIndex<T extends KubeObject> {
  private readonly byNamespace = new Buckets<T>();

  /**
   * One index per shared informer, whoever asks: the DaemonSet and disruption controllers both
   * read pods by namespace, and a second index of every pod would only cost memory.
   */
  static of<T extends KubeObject>(informer: Informer<T>, shared?: SharedInformers): NamespaceIndex<T> {
    if (!shared) return new NamespaceIndex(informer);
    let index = sharedNamespaceIndexes.get(informer);
    if (!index) sharedNamespaceIndexes.set(informer, (index = new NamespaceIndex(informer, shared)));
    return index as NamespaceIndex<T>;
  }

  constructor(informer: Informer<T>, shared?: SharedInformers) {
    // Registered before the informer starts, so the index sees the first list too.
    register(
      informer,
      {
        add: (o) => this.byNamespace.set(o.metadata.namespace ?? "", objectKeyOf(o), o),
        update: (_, o) => this.byNamespace.set(o.metadata.namespace ?? "", objectKeyOf(o), o),
        delete: (o) => this.byNamespace.delete(o.metadata.namespace ?? "", objectKeyOf(o)),
      },
      shared,
    );
  }

  list(namespace: string): T[] {
    return this.byNamespace.values(namespace);
  }
}

/**
 * Objects by the uid of their controller, and orphans (no controller) by namespace. An object
 * whose controller changes moves between buckets on the update that changes it.
 */
const sharedIndexes = new WeakMap<Informer<any>, ControllerIndex<any>>();

export class ControllerIndex<T extends KubeObject> {
  private readonly byController = new Buckets<T>();
  private readonly orphans = new Buckets<T>();
  /** Where each object is filed: "c:<uid>" or "o:<namespace>". */
  private readonly slotOf = new Map<string, string>();

  constructor(informer: Informer<T>, shared?: SharedInformers) {
    register(informer, { add: (o) => this.put(o), update: (_, o) => this.put(o), delete: (o) => this.remove(objectKeyOf(o)) }, shared);
  }

  /**
   * One index per shared informer, whoever asks: the ReplicaSet and Deployment controllers both
   * index pods by controller, and two identical indexes of 5,000 pods cost ~1.2 MB each.
   */
  static of<T extends KubeObject>(informer: Informer<T>, shared?: SharedInformers): ControllerIndex<T> {
    if (!shared) return new ControllerIndex(informer);
    let index = sharedIndexes.get(informer);
    if (!index) sharedIndexes.set(informer, (index = new ControllerIndex(informer, shared)));
    return index as ControllerIndex<T>;
  }

  /** Objects whose controller reference carries this uid (whatever its kind or name says). */
  controlledBy(uid: string): T[] {
    return this.byController.values(uid);
  }

  countControlledBy(uid: string): number {
    return this.byController.size(uid);
  }

  /** Objects in the namespace without a controller. */
  orphansIn(namespace: string): T[] {
    return this.orphans.values(namespace);
  }

  hasOrphans(namespace: string): boolean {
    return this.orphans.size(namespace) > 0;
  }

  private put(o: T) {
    const key = objectKeyOf(o);
    const uid = controllerRefOf(o)?.uid;
    const slot = uid ? `c:${uid}` : `o:${o.metadata.namespace ?? ""}`;
    const was = this.slotOf.get(key);
    if (was !== undefined && was !== slot) this.remove(key);
    this.slotOf.set(key, slot);
    if (uid) this.byController.set(uid, key, o);
    else this.orphans.set(o.metadata.namespace ?? "", key, o);
  }

  private remove(key: string) {
    const slot = this.slotOf.get(key);
    if (slot === undefined) return;
    this.slotOf.delete(key);
    if (slot.startsWith("c:")) this.byController.delete(slot.slice(2), key);
    else this.orphans.delete(slot.slice(2), key);
  }
}
