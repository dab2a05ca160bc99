// Admission runs between validation and the store write. A plugin may change the object (fill
// an allocated ClusterIP) and returns what to do once the write commits or fails, so
// allocations never leak from a failed or dry-run write. A plugin may be asynchronous (quota
// admission writes the new usage to its ResourceQuota before the object is written).
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";

export interface AdmissionOutcome {
  /** The write committed: make releases of old allocations final. */
  commit?(): void;
  /** The write failed or was a dry run: undo what admit reserved. */
  rollback?(): void;
}

export interface AdmissionContext {
  /** Nothing is persisted: a plugin checks, but writes nothing of its own. */
  dryRun?: boolean;
  /** The subresource written ("status"), "" or unset for the object itself. */
  subresource?: string;
}

export interface AdmissionPlugin {
  admit(op: "create" | "update", def: ResourceDef, obj: KubeObject, old: KubeObject | undefined, ctx: AdmissionContext): AdmissionOutcome | void | Promise<AdmissionOutcome | void>;
  /** A delete is about to be carried out (or checked, on a dry run); throw to refuse it. */
  admitDelete?(def: ResourceDef, obj: KubeObject, ctx: AdmissionContext): void | Promise<void>;
  /** The object was removed from the store. */
  deleted?(def: ResourceDef, obj: KubeObject): void;
}

/** Runs plugins in order; if one throws, the ones before it are rolled back. */
export async function admitAll(
  plugins: AdmissionPlugin[],
  op: "create" | "update",
  def: ResourceDef,
  obj: KubeObject,
  old?: KubeObject,
  ctx: AdmissionContext = {},
): Promise<Required<AdmissionOutcome>> {
  const outcomes: AdmissionOutcome[] = [];
  try {
    for (const p of plugins) {
      const result = p.admit(op, def, obj, old, ctx);
      const o = result instanceof Promise ? await result : result;
      if (o) outcomes.push(o);
    }
  } catch (e) {
    for (const o of outcomes.reverse()) o.rollback?.();
    throw e;
  }
  return {
    commit: () => outcomes.forEach((o) => o.commit?.()),
    rollback: () => outcomes.forEach((o) => o.rollback?.()),
  };
}
