// Deletion: preconditions, graceful pod deletion, finalizers, namespaces marked Terminating, and
// the propagation policy recorded the way upstream records it for the garbage collector:
// Foreground → finalizer `foregroundDeletion`, Orphan → finalizer `orphan`, Background → the
// owner goes at once. The controllers (src/server/controllers/gc, namespace) do the cascading
// and the namespace draining; the API server never walks dependents itself.
import { conflict, forbidden, badRequest } from "../../../api/errors";
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import { timestamp } from "./codec";
import { objectKey } from "./keys";
import { targetOf, type Objects } from "./objects";

export type PropagationPolicy = "Foreground" | "Background" | "Orphan";

export interface DeleteOptions {
  dryRun?: boolean;
  gracePeriodSeconds?: number;
  propagationPolicy?: PropagationPolicy;
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** Namespaces the cluster cannot work without. */
const PROTECTED_NAMESPACES = new Set(["default", "kube-system", "kube-public", "kube-node-lease"]);

/** Finalizers the garbage collector acts on (metav1.FinalizerDeleteDependents / FinalizerOrphanDependents). */
export const FOREGROUND_FINALIZER = "foregroundDeletion";
export const ORPHAN_FINALIZER = "orphan";

export class Deleter {
  constructor(private readonly objects: Objects) {}

  async delete(def: ResourceDef, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<KubeObject> {
    const obj = this.objects.get(def, namespace, name);
    const { uid, resourceVersion } = opts.preconditions ?? {};
    if (uid && uid !== obj.metadata.uid)
      throw conflict(targetOf(def), name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${obj.metadata.uid}`);
    if (resourceVersion && resourceVersion !== obj.metadata.resourceVersion)
      throw conflict(targetOf(def), name, `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`);
    if (opts.gracePeriodSeconds !== undefined && (!Number.isInteger(opts.gracePeriodSeconds) || opts.gracePeriodSeconds < 0))
      throw badRequest("gracePeriodSeconds must be a non-negative integer");
    if (def.plural === "namespaces" && PROTECTED_NAMESPACES.has(name))
      throw forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`);
    if (opts.dryRun) return obj;

    if (def.plural === "namespaces") return this.terminateNamespace(def, obj);

    // The policy is recorded as a finalizer for the garbage collector, which removes it once it
    // has deleted (Foreground) or released (Orphan) the dependents; the object goes then.
    const policy = opts.propagationPolicy ?? "Background";
    const finalizer = policy === "Foreground" ? FOREGROUND_FINALIZER : policy === "Orphan" ? ORPHAN_FINALIZER : undefined;
    const grace = this.podGracePeriod(def, obj, opts.gracePeriodSeconds);
    if (grace > 0 || finalizer || obj.metadata.finalizers?.length) return this.markDeleting(def, obj, grace, finalizer);
    return this.objects.remove(def, objectKey(def, namespace, name), obj);
  }

  /**
   * A pod on a node is stopped by that node's agent, which then deletes it; until then it is
   * "Terminating". Pods never scheduled, or already finished, go at once (as upstream).
   */
  private podGracePeriod(def: ResourceDef, obj: KubeObject, requested?: number): number {
    if (def.plural !== "pods" || def.group !== "") return 0;
    const spec = obj.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
    const phase = (obj.status as { phase?: string } | undefined)?.phase;
    if (!spec?.nodeName || phase === "Succeeded" || phase === "Failed") return 0;
    const grace = requested ?? spec.terminationGracePeriodSeconds ?? 30;
    const current = obj.metadata.deletionGracePeriodSeconds;
    return current !== undefined && current < grace ? current : grace;
  }

  private async markDeleting(def: ResourceDef, obj: KubeObject, graceSeconds: number, finalizer?: string): Promise<KubeObject> {
    const m = obj.metadata;
    const addFinalizer = finalizer !== undefined && !m.finalizers?.includes(finalizer);
    const shorten = !m.deletionTimestamp || (m.deletionGracePeriodSeconds ?? 0) > graceSeconds;
    if (!addFinalizer && !shorten) return obj;
    const next = structuredClone(obj);
    if (shorten) {
      next.metadata.deletionTimestamp = timestamp(new Date(Date.now() + graceSeconds * 1000));
      next.metadata.deletionGracePeriodSeconds = graceSeconds;
      if (def.hasStatus) next.metadata.generation = (m.generation ?? 1) + 1;
    }
    if (addFinalizer) next.metadata.finalizers = [...(m.finalizers ?? []), finalizer];
    return this.objects.replace(def, next, Number(m.resourceVersion));
  }

  private async terminateNamespace(def: ResourceDef, ns: KubeObject): Promise<KubeObject> {
    if (ns.metadata.deletionTimestamp) return ns;
    const next = structuredClone(ns);
    next.metadata.deletionTimestamp = timestamp();
    next.metadata.deletionGracePeriodSeconds = 0;
    next.status = { ...(ns.status as object), phase: "Terminating" };
    // The namespace controller deletes the contents, then the namespace.
    return this.objects.replace(def, next, Number(ns.metadata.resourceVersion));
  }
}
