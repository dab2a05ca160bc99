// Object-level operations shared by every resource: read from the watch cache, write through the
// store with defaults, validation, admission and optimistic concurrency. HTTP handlers, the
// bootstrap and the namespace finalizer all go through here, so every write obeys the same rules.
import { alreadyExists, forbidden, invalid, notFound, staleResourceVersion, fieldCauses, type FieldError, type Target } from "../../../api/errors";
import type { KubeObject } from "../../../api/meta";
import type { PartialWrite, ResourceDef, Subresource } from "../../../api/resource";
import { validateObjectMeta } from "../../../api/validation";
import { KeyExistsError, KeyNotFoundError, RevisionConflictError, type Store } from "../../store/store";
import { admitAll, type AdmissionPlugin } from "../admission/admission";
import type { WatchCache } from "../watchcache";
import { exceedsObjectLimit, objectTooLarge } from "../limits";
import { decode, encode, randomSuffix, timestamp } from "./codec";
import { isHeartbeat } from "./heartbeat";
import { listPrefix, objectKey } from "./keys";

export interface WriteOptions {
  dryRun?: boolean;
  /** Required fields the decoder found missing, reported together with validation errors. */
  missing?: FieldError[];
}

export interface UpdateOptions extends WriteOptions {
  /**
   * "status" writes only status; "" (main resource) writes everything but status; a partial
   * write the definition declares (pods' "ephemeralcontainers") writes only its part.
   */
  subresource?: "status" | "" | Subresource;
}

export const targetOf = (def: ResourceDef, name?: string): Target => ({ group: def.group, plural: def.plural, kind: def.kind, name });

/** Everything but metadata and status: a change here bumps metadata.generation. */
const specPart = (obj: KubeObject) => {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...spec } = obj;
  return JSON.stringify(spec);
};

export class Objects {
  constructor(
    readonly store: Store,
    readonly cache: WatchCache,
    readonly admission: AdmissionPlugin[],
    readonly namespaces: ResourceDef,
  ) {}

  get(def: ResourceDef, namespace: string | undefined, name: string): KubeObject {
    const kv = this.cache.get(objectKey(def, namespace, name));
    if (!kv) throw notFound(targetOf(def), name);
    return decode(kv);
  }

  tryGet(def: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    const kv = this.cache.get(objectKey(def, namespace, name));
    return kv && decode(kv);
  }

  /** All objects of a resource (in one namespace when given), in key order, at `revision`. */
  list(def: ResourceDef, namespace?: string): { items: KubeObject[]; revision: number } {
    const revision = this.cache.revision;
    return { items: this.cache.list(listPrefix(def, namespace)).map(decode), revision };
  }

  async create(def: ResourceDef, namespace: string | undefined, obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    obj.metadata ??= {};
    const meta = obj.metadata;
    if (def.namespaced) meta.namespace = namespace;
    else delete meta.namespace;
    if (meta.resourceVersion) throw invalid(targetOf(def), meta.name ?? "", [{ reason: "FieldValueInvalid", field: "metadata.resourceVersion", message: "resourceVersion may not be set on objects to be created" }]);
    // As upstream, the prefix is cut so prefix + suffix still fits a 63-character name.
    if (!meta.name && meta.generateName) meta.name = meta.generateName.slice(0, 58) + randomSuffix();
    meta.uid = crypto.randomUUID();
    meta.creationTimestamp = timestamp();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.managedFields;
    if (def.hasStatus) {
      meta.generation = 1;
      // Status is the controllers' to write; a client's status on create is dropped, unless the
      // kind keeps it (a Node's, which its own agent reports when it registers).
      if (!def.keepsStatusOnCreate) delete obj.status;
    }
    def.defaults(obj);
    this.validate(def, obj, undefined, opts.missing);
    if (def.namespaced) this.checkNamespaceOpen(namespace!);

    const admitted = await admitAll(this.admission, "create", def, obj, undefined, { dryRun: opts.dryRun });
    const value = encode(def, obj);
    if (opts.dryRun || exceedsObjectLimit(value)) {
      admitted.rollback();
      if (exceedsObjectLimit(value)) throw objectTooLarge();
      return obj;
    }
    try {
      const kv = await this.store.create(objectKey(def, namespace, meta.name!), value);
      admitted.commit();
      await this.cache.waitFor(kv.modRevision);
      return decode(kv);
    } catch (e) {
      admitted.rollback();
      if (e instanceof KeyExistsError) throw alreadyExists(targetOf(def), meta.name!);
      throw e;
    }
  }

  /**
   * Replaces an object. An empty resourceVersion means "whatever is stored now" (upstream allows
   * unconditional updates for these types); a stale one is a 409.
   */
  async update(def: ResourceDef, namespace: string | undefined, name: string, obj: KubeObject, opts: UpdateOptions = {}): Promise<KubeObject> {
    const key = objectKey(def, namespace, name);
    const currentKv = this.cache.get(key);
    if (!currentKv) throw notFound(targetOf(def), name);
    const old = decode(currentKv);
    obj.metadata ??= {};
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== old.metadata.resourceVersion)
      throw staleResourceVersion(targetOf(def), name);

    const partial = opts.subresource ? def.partialWrites?.[opts.subresource as Subresource] : undefined;
    const next = this.merge(def, old, obj, opts.subresource ?? "", partial);
    def.defaults(next);
    this.validate(def, next, old, opts.missing, partial);

    // A finalizer-held object whose last finalizer was just removed is now really deleted. A pod
    // in its grace period (grace > 0) is not: its node's agent finishes it. A kind may hold it
    // longer (a namespace waits for its spec.finalizers, which the namespace controller clears).
    const released =
      next.metadata.deletionTimestamp &&
      !next.metadata.finalizers?.length &&
      (next.metadata.deletionGracePeriodSeconds ?? 0) === 0 &&
      !def.deletionHeld?.(next);
    if (released) {
      if (opts.dryRun) return next;
      return this.remove(def, key, old, currentKv.modRevision);
    }
    const admitted = await admitAll(this.admission, "update", def, next, old, { dryRun: opts.dryRun, subresource: opts.subresource });
    // Encoded once, after admission (which may fill fields back in): a value equal to the stored
    // one is a no-op, with no write and no new revision.
    const value = encode(def, next);
    if (value === currentKv.value) {
      admitted.rollback();
      return old;
    }
    if (opts.dryRun || exceedsObjectLimit(value)) {
      admitted.rollback();
      if (exceedsObjectLimit(value)) throw objectTooLarge();
      next.metadata.resourceVersion = old.metadata.resourceVersion;
      return next;
    }
    try {
      // A heartbeat is held in memory and written every few minutes (SD cards).
      const durable = !isHeartbeat(def, old, next);
      const kv = await this.store.update(key, value, currentKv.modRevision, { durable });
      admitted.commit();
      await this.cache.waitFor(kv.modRevision);
      return decode(kv);
    } catch (e) {
      admitted.rollback();
      if (e instanceof RevisionConflictError) throw await this.conflict(def, name, e);
      if (e instanceof KeyNotFoundError) throw notFound(targetOf(def), name);
      throw e;
    }
  }

  /** Writes an object as given (internal transitions: deletion marks, orphaning), with CAS. */
  async replace(def: ResourceDef, obj: KubeObject, expectedRevision: number): Promise<KubeObject> {
    const name = obj.metadata.name!;
    const value = encode(def, obj);
    if (exceedsObjectLimit(value)) throw objectTooLarge();
    try {
      const kv = await this.store.update(objectKey(def, obj.metadata.namespace, name), value, expectedRevision);
      await this.cache.waitFor(kv.modRevision);
      return decode(kv);
    } catch (e) {
      if (e instanceof RevisionConflictError) throw await this.conflict(def, name, e);
      if (e instanceof KeyNotFoundError) throw notFound(targetOf(def), name);
      throw e;
    }
  }

  /**
   * The 409 for a write that lost a race, given only once the cache holds the write that won:
   * the store acknowledges writes before its watch brings them to the cache, and a caller that
   * re-reads at once to retry (a patch, a controller) would otherwise get the same stale object.
   * Bounded, so a winner that never reaches the cache cannot hang the request.
   */
  private async conflict(def: ResourceDef, name: string, e: RevisionConflictError) {
    await Promise.race([this.cache.waitFor(e.current.modRevision), Bun.sleep(1_000)]);
    return staleResourceVersion(targetOf(def), name);
  }

  /** Deletes from the store now (no grace, no finalizers), releasing admission allocations. */
  async remove(def: ResourceDef, key: string, obj: KubeObject, expectedRevision?: number): Promise<KubeObject> {
    try {
      const kv = await this.store.delete(key, expectedRevision);
      for (const p of this.admission) p.deleted?.(def, obj);
      await this.cache.waitFor(await this.store.currentRevision());
      return decode(kv);
    } catch (e) {
      if (e instanceof RevisionConflictError) throw await this.conflict(def, obj.metadata.name!, e);
      if (e instanceof KeyNotFoundError) throw notFound(targetOf(def), obj.metadata.name!);
      throw e;
    }
  }

  /** The stored object with the client's changes applied, keeping what clients may not change. */
  private merge(def: ResourceDef, old: KubeObject, obj: KubeObject, subresource: string, partial?: PartialWrite): KubeObject {
    let next: KubeObject;
    if (partial) {
      next = partial.merge(structuredClone(old), obj);
    } else if (subresource === "status") {
      next = { ...structuredClone(old), status: obj.status };
    } else {
      next = { ...obj, metadata: { ...obj.metadata } };
      if (def.hasStatus) {
        if (old.status === undefined) delete next.status;
        else next.status = old.status;
      }
    }
    const m = next.metadata;
    const o = old.metadata;
    m.name = o.name;
    m.namespace = o.namespace;
    m.uid = o.uid;
    m.creationTimestamp = o.creationTimestamp;
    m.deletionTimestamp = o.deletionTimestamp;
    m.deletionGracePeriodSeconds = o.deletionGracePeriodSeconds;
    delete m.resourceVersion;
    delete m.managedFields;
    if (!m.deletionTimestamp) delete m.deletionTimestamp;
    if (m.deletionGracePeriodSeconds === undefined) delete m.deletionGracePeriodSeconds;
    if (def.hasStatus) m.generation = (o.generation ?? 1) + (specPart(next) !== specPart(old) ? 1 : 0);
    else delete m.generation;
    return next;
  }

  private validate(def: ResourceDef, obj: KubeObject, old: KubeObject | undefined, missing: FieldError[] = [], partial?: PartialWrite) {
    const errs: FieldError[] = [...missing];
    errs.push(
      ...validateObjectMeta(obj.metadata, { namespaced: def.namespaced, nameValidator: def.nameValidator }),
    );
    errs.push(...def.validate(obj, old));
    if (old && partial) errs.push(...partial.validateUpdate(obj, old));
    else if (old && def.immutable) errs.push(...def.immutable(obj, old));
    if (errs.length) throw invalid(targetOf(def), obj.metadata.name ?? obj.metadata.generateName ?? "", fieldCauses(errs));
  }

  private checkNamespaceOpen(namespace: string) {
    const ns = this.tryGet(this.namespaces, undefined, namespace);
    if (!ns) throw notFound(targetOf(this.namespaces), namespace);
    if (ns.metadata.deletionTimestamp)
      throw forbidden(`unable to create new content in namespace ${namespace} because it is being terminated`);
  }
}
