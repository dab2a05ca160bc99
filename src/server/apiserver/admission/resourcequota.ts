// ResourceQuota admission: a write that adds usage is admitted only once the new usage is in the
// status of every quota it counts against, written with the quota's resourceVersion (compare
// and swap), as upstream's quota evaluator does. Requests for one namespace take turns here, so
// concurrent creates on this server never both see the same free room; a write from another
// server in between makes the swap fail, and the check runs again on the fresh quota. If the
// object's own write fails afterwards the charge stays until the quota controller recounts, as
// upstream.
import { ApiError } from "../../../api/errors";
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import type { ResourceQuota } from "../../../api/resources/core/resourcequota";
import { checkRequest, QuotaRefusal } from "../../quota/check";
import { evaluatorFor } from "../../quota/evaluators";
import type { AdmissionContext, AdmissionPlugin } from "./admission";
import { forbiddenFor } from "./forbidden";

export interface QuotaAccess {
  /** The namespace's quotas as the API server holds them now. */
  list(namespace: string): ResourceQuota[];
  /** Writes the quota as given if its resourceVersion is still current; throws a 409 otherwise. */
  replace(quota: ResourceQuota): Promise<unknown>;
}

/** Attempts against quotas changed underneath (by another server) before giving up with the 409. */
const ATTEMPTS = 5;

export class QuotaAdmission implements AdmissionPlugin {
  private readonly turns = new Map<string, Promise<unknown>>();

  constructor(
    private readonly quotas: QuotaAccess,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async admit(op: "create" | "update", def: ResourceDef, obj: KubeObject, old: KubeObject | undefined, ctx: AdmissionContext) {
    if (!def.namespaced) return;
    const ev = evaluatorFor(def);
    if (!ev || (op === "update" && !ev.handlesUpdate)) return;
    const namespace = obj.metadata.namespace ?? "";
    if (!this.quotas.list(namespace).length) return;
    await this.inTurn(namespace, () => this.charge(op, def, obj, old, namespace, !!ctx.dryRun));
  }

  private async charge(op: "create" | "update", def: ResourceDef, obj: KubeObject, old: KubeObject | undefined, namespace: string, dryRun: boolean) {
    // Quotas already charged stay charged when a later one must be retried.
    const charged = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      let charges;
      try {
        const quotas = this.quotas.list(namespace).filter((q) => !charged.has(q.metadata.name!));
        charges = checkRequest(quotas, op, def, obj, old, this.now());
      } catch (e) {
        if (e instanceof QuotaRefusal) throw forbiddenFor(def, obj, e.message);
        throw e;
      }
      if (dryRun) return;
      try {
        for (const { quota, used } of charges) {
          await this.quotas.replace({ ...quota, status: { ...quota.status, used } });
          charged.add(quota.metadata.name!);
        }
        return;
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 409) || attempt >= ATTEMPTS) throw e;
      }
    }
  }

  /** Runs `fn` after every earlier turn of the namespace has finished. */
  private async inTurn<T>(namespace: string, fn: () => Promise<T>): Promise<T> {
    const before = this.turns.get(namespace) ?? Promise.resolve();
    const mine = before.then(fn, fn);
    const settled = mine.catch(() => {});
    this.turns.set(namespace, settled);
    try {
      return await mine;
    } finally {
      if (this.turns.get(namespace) === settled) this.turns.delete(namespace);
    }
  }
}
