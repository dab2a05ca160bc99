// Deletion: preconditions, graceful pod deletion, finalizers, namespaces that drain before they
// go, and ownerReference cascades (Foreground, Background, Orphan).
//
// The cascade runs here, in the API server, until a garbage-collector controller exists; the
// observable result (dependents deleted or orphaned) is what kubectl's --cascade flag expects.
import { conflict, forbidden, badRequest } from "../../../api/errors";
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import { log } from "../../../machinery/log";
import { decode, timestamp } from "./codec";
import { listPrefix, objectKey } from "./keys";
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

export class Deleter {
  /** Called when a namespace starts terminating, so its contents get drained. */
  onNamespaceTerminating: (name: string) => void = () => {};

  constructor(
    private readonly objects: Objects,
    private readonly resources: ResourceDef[],
  ) {}

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

    const policy = opts.propagationPolicy ?? "Background";
    if (policy === "Orphan") await this.orphanDependents(obj);
    if (policy === "Foreground") await this.deleteDependents(obj, "Foreground");

    const grace = this.podGracePeriod(def, obj, opts.gracePeriodSeconds);
    if (grace > 0) return this.markDeleting(def, obj, grace);
    if (obj.metadata.finalizers?.length) return this.markDeleting(def, obj, 0);

    const key = objectKey(def, namespace, name);
    const removed = await this.objects.remove(def, key, obj);
    if (policy === "Background") {
      // Dependents go after the owner, off the request's path, as upstream's GC does.
      this.deleteDependents(obj, "Background").catch((e) => log.warn("background cascade failed", { owner: name, error: String(e) }));
    }
    return removed;
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

  private async markDeleting(def: ResourceDef, obj: KubeObject, graceSeconds: number): Promise<KubeObject> {
    const m = obj.metadata;
    if (m.deletionTimestamp && (m.deletionGracePeriodSeconds ?? 0) <= graceSeconds) return obj;
    const next = structuredClone(obj);
    next.metadata.deletionTimestamp = timestamp(new Date(Date.now() + graceSeconds * 1000));
    next.metadata.deletionGracePeriodSeconds = graceSeconds;
    if (def.hasStatus) next.metadata.generation = (m.generation ?? 1) + 1;
    return this.objects.replace(def, next, Number(m.resourceVersion));
  }

  private async terminateNamespace(def: ResourceDef, ns: KubeObject): Promise<KubeObject> {
    if (ns.metadata.deletionTimestamp) return ns;
    const next = structuredClone(ns);
    next.metadata.deletionTimestamp = timestamp();
    next.metadata.deletionGracePeriodSeconds = 0;
    next.status = { ...(ns.status as object), phase: "Terminating" };
    const stored = await this.objects.replace(def, next, Number(ns.metadata.resourceVersion));
    this.onNamespaceTerminating(ns.metadata.name!);
    return stored;
  }

  /** Objects whose ownerReferences name `owner`, with their resource. */
  dependentsOf(owner: KubeObject): { def: ResourceDef; obj: KubeObject }[] {
    const uid = owner.metadata.uid!;
    const out: { def: ResourceDef; obj: KubeObject }[] = [];
    for (const def of this.resources) {
      // Namespaced owners can only own objects in their namespace.
      if (owner.metadata.namespace && !def.namespaced) continue;
      for (const kv of this.objects.cache.list(listPrefix(def, owner.metadata.namespace))) {
        if (!kv.value.includes(uid)) continue; // cheap pre-filter before parsing
        const obj = decode(kv);
        if (obj.metadata.ownerReferences?.some((r) => r.uid === uid)) out.push({ def, obj });
      }
    }
    return out;
  }

  private async deleteDependents(owner: KubeObject, policy: PropagationPolicy) {
    for (const { def, obj } of this.dependentsOf(owner)) {
      try {
        await this.delete(def, obj.metadata.namespace, obj.metadata.name!, { propagationPolicy: policy });
      } catch (e) {
        if ((e as { code?: number }).code !== 404) throw e;
      }
    }
  }

  private async orphanDependents(owner: KubeObject) {
    for (const { def, obj } of this.dependentsOf(owner)) {
      const next = structuredClone(obj);
      next.metadata.ownerReferences = obj.metadata.ownerReferences!.filter((r) => r.uid !== owner.metadata.uid);
      if (!next.metadata.ownerReferences.length) delete next.metadata.ownerReferences;
      await this.objects.replace(def, next, Number(obj.metadata.resourceVersion));
    }
  }
}

/**
 * Drains a terminating namespace: deletes everything in it, then the namespace itself. Retries
 * while objects remain (pods in their grace period, finalizers), as upstream's namespace
 * controller does.
 */
export class NamespaceFinalizer {
  private running = new Set<string>();
  private stopped = false;

  constructor(
    private readonly objects: Objects,
    private readonly deleter: Deleter,
    private readonly resources: ResourceDef[],
    private readonly namespaces: ResourceDef,
  ) {
    deleter.onNamespaceTerminating = (name) => this.finalize(name);
  }

  stop() {
    this.stopped = true;
  }

  finalize(name: string) {
    if (this.running.has(name) || this.stopped) return;
    this.running.add(name);
    const loop = async () => {
      try {
        while (!this.stopped && !(await this.drain(name))) await Bun.sleep(1000);
      } catch (e) {
        log.warn("namespace finalizer failed; will retry", { namespace: name, error: String(e) });
        if (!this.stopped) setTimeout(() => this.finalize(name), 2000);
      } finally {
        this.running.delete(name);
      }
    };
    void loop();
  }

  /** One pass; true when the namespace is gone. */
  private async drain(name: string): Promise<boolean> {
    const contents = () => this.resources.filter((d) => d.namespaced).flatMap((def) => this.objects.cache.list(listPrefix(def, name)).map((kv) => ({ def, kv })));
    for (const { def, kv } of contents()) {
      const obj = decode(kv);
      if (obj.metadata.deletionTimestamp) continue;
      try {
        await this.deleter.delete(def, name, obj.metadata.name!, { propagationPolicy: "Background" });
      } catch (e) {
        if ((e as { code?: number }).code !== 404) throw e;
      }
    }
    if (contents().length > 0) return false;
    const ns = this.objects.tryGet(this.namespaces, undefined, name);
    if (ns) await this.objects.remove(this.namespaces, objectKey(this.namespaces, undefined, name), ns);
    return true;
  }
}
