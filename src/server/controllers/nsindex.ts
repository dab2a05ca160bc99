// A per-namespace view of an informer's cache, so a reconcile lists one namespace's pods or
// ReplicaSets without scanning every object in the cluster.
import type { KubeObject } from "../../api/meta";
import { objectKeyOf, type Informer } from "../../client/informer";

export class NamespaceIndex<T extends KubeObject> {
  private readonly byNamespace = new Map<string, Map<string, T>>();

  constructor(informer: Informer<T>) {
    // Registered before the informer starts, so the index sees the first list too.
    informer.on({
      add: (o) => this.put(o),
      update: (_, o) => this.put(o),
      delete: (o) => this.remove(o),
    });
  }

  list(namespace: string): T[] {
    const m = this.byNamespace.get(namespace);
    return m ? [...m.values()] : [];
  }

  private put(o: T) {
    const ns = o.metadata.namespace ?? "";
    let m = this.byNamespace.get(ns);
    if (!m) this.byNamespace.set(ns, (m = new Map()));
    m.set(objectKeyOf(o), o);
  }

  private remove(o: T) {
    const ns = o.metadata.namespace ?? "";
    const m = this.byNamespace.get(ns);
    m?.delete(objectKeyOf(o));
    if (m?.size === 0) this.byNamespace.delete(ns);
  }
}
