// Deletion: preconditions, grace periods, finalizers, and the propagation policy recorded the way
// upstream records it for the garbage collector: Foreground → finalizer `foregroundDeletion`,
// Orphan → finalizer `orphan`, Background → the owner goes at once. What differs by kind (a
// refusal, a grace period, a deletion its controller finishes) is a hook on its definition. The
// controllers (src/server/controllers/gc, namespace) do the cascading and the namespace
// draining; the API server never walks dependents itself.
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
    const refused = def.deletionRefused?.(obj);
    if (refused) throw forbidden(`${def.group ? `${def.plural}.${def.group}` : def.plural} "${name}" is forbidden: ${refused}`);
    for (const p of this.objects.admission) await p.admitDelete?.(def, obj, { dryRun: opts.dryRun });
    if (opts.dryRun) return obj;

    if (def.markDeleted) {
      const marked = def.markDeleted(obj, timestamp());
      return marked ? this.objects.replace(def, marked, Number(obj.metadata.resourceVersion)) : obj;
    }

    // The policy is recorded as a finalizer for the garbage collector, which removes it once it
    // has deleted (Foreground) or released (Orphan) the dependents; the object goes then.
    const policy = opts.propagationPolicy ?? "Background";
    const finalizer = policy === "Foreground" ? FOREGROUND_FINALIZER : policy === "Orphan" ? ORPHAN_FINALIZER : undefined;
    const grace = this.gracePeriod(def, obj, opts.gracePeriodSeconds);
    if (grace > 0 || finalizer || obj.metadata.finalizers?.length) return this.markDeleting(def, obj, grace, finalizer);
    return this.objects.remove(def, objectKey(def, namespace, name), obj);
  }

  /** The kind's grace period (0 unless it has one); a deletion already under way is only ever shortened. */
  private gracePeriod(def: ResourceDef, obj: KubeObject, requested?: number): number {
    const grace = def.deletionGracePeriod?.(obj, requested) ?? 0;
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
}
