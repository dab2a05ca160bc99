// Emptying one namespace: a deletecollection per namespaced type (Background propagation, so the
// garbage collector takes care of anything owned from outside), then a count of what is left.
import { ApiError } from "../../../api/errors";
import type { ResourceDef } from "../../../api/resource";
import type { KubeClient } from "../../../client/client";
import type { Namespace } from "../../../api/resources/core/namespace";
import { namespaces } from "../../../api/resources/core/namespace";

export interface Remaining {
  plural: string;
  count: number;
}

export class NamespaceDrainer {
  constructor(
    private readonly client: KubeClient,
    private readonly types: ResourceDef[],
  ) {}

  /** Deletes what is not being deleted yet; returns the types that still have objects. */
  async drain(namespace: string): Promise<Remaining[]> {
    const remaining: Remaining[] = [];
    for (const def of this.types) {
      const rc = this.client.resource(def);
      const { items } = await rc.list(namespace);
      if (!items.length) continue;
      if (items.some((o) => !o.metadata.deletionTimestamp)) {
        try {
          await this.client.json("DELETE", rc.path(namespace), { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" });
        } catch (e) {
          if (!(e instanceof ApiError && e.code === 404)) throw e;
        }
        const after = await rc.list(namespace);
        if (after.items.length) remaining.push({ plural: def.plural, count: after.items.length });
      } else remaining.push({ plural: def.plural, count: items.length });
    }
    return remaining;
  }

  /**
   * The namespace is empty: drop its `kubernetes` finalizer. The API server deletes a namespace
   * marked for deletion once nothing holds it, as it does for any object whose last finalizer goes.
   */
  async finalize(ns: Namespace) {
    const next: Namespace = { ...ns, spec: { ...ns.spec, finalizers: (ns.spec?.finalizers ?? []).filter((f) => f !== "kubernetes") } };
    try {
      await this.client.resource<Namespace>(namespaces).update(next);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }
}
