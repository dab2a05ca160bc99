// The resources of CustomResourceDefinitions, registered while the server runs: a CRD is served
// (routes, discovery, OpenAPI) from the moment it is stored, its status says so (NamesAccepted,
// Established, acceptedNames, storedVersions), and deleting it deletes its objects first (the
// customresourcecleanup finalizer) and takes its resource out of discovery.
import type { KubeObject } from "../../api/meta";
import type { ResourceDef } from "../../api/resource";
import { customResourceDefs } from "../../api/crd/resource-def";
import { CLEANUP_FINALIZER, type CustomResourceDefinition } from "../../api/resources/apiextensions/customresourcedefinition";
import { log } from "../../machinery/log";
import { collectionKey } from "./objects/keys";
import type { Deleter } from "./objects/delete";
import type { Objects } from "./objects/objects";
import type { WatchCache } from "./watchcache";

/** How often a deleted CRD looks again for objects of its resource still finalizing. */
const CLEANUP_RETRY_MS = 1_000;

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

export class CustomResources {
  /** The definitions of each CRD's resource (the stored version first), by CRD name. */
  private readonly defs = new Map<string, ResourceDef[]>();
  /** The spec each CRD's definitions were built from: a status write does not rebuild them. */
  private readonly specs = new Map<string, string>();
  /** Every served definition (each version) by "<group>/<version>/<plural>". */
  private byPath = new Map<string, ResourceDef>();
  private watch?: { stop(): void };
  private queue = Promise.resolve();
  private readonly retries = new Set<ReturnType<typeof setTimeout>>();
  /** Bumped on every change of what is served (OpenAPI documents are rebuilt on a change). */
  generation = 0;

  constructor(
    private readonly objects: Objects,
    private readonly cache: WatchCache,
    private readonly deleter: Deleter,
    private readonly crds: ResourceDef,
    /** Whether a built-in resource has this group and plural (a CRD may not take it). */
    private readonly builtIn: (group: string, plural: string) => boolean = () => false,
  ) {}

  /** Registers the stored CRDs, then follows their changes. */
  start() {
    const { items, revision } = this.objects.list(this.crds);
    for (const crd of items) this.changed(crd as CustomResourceDefinition);
    this.watch = this.cache.watch(collectionKey(this.crds), revision, (e) => {
      try {
        const crd = JSON.parse(e.value) as CustomResourceDefinition;
        if (e.type === "DELETED") this.unregister(crd.metadata.name!);
        else this.changed(crd);
      } catch (err) {
        log.warn("custom resource definition not served", { key: e.key, error: String(err) });
      }
    });
  }

  stop() {
    this.watch?.stop();
    for (const timer of this.retries) clearTimeout(timer);
  }

  find(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.byPath.get(`${group}/${version}/${plural}`);
  }

  /** The stored definition of a resource by group and plural. */
  stored(group: string, plural: string): ResourceDef | undefined {
    for (const [d] of this.defs.values()) if (d && d.group === group && d.plural === plural) return d;
    return undefined;
  }

  /** Every served definition, each version (the stored one first). */
  served(): ResourceDef[] {
    return [...this.byPath.values()];
  }

  private reindex() {
    this.byPath = new Map([...this.defs.values()].flat().map((d) => [`${d.group}/${d.version}/${d.plural}`, d]));
    this.generation++;
  }

  private unregister(name: string) {
    this.terminating.delete(name);
    this.specs.delete(name);
    if (!this.defs.delete(name)) return;
    this.reindex();
    // Names it held may be free now for a definition that conflicted with it.
    for (const [other, crd] of this.conflicting) if (other !== name) this.changed(crd);
  }

  /** CRDs deleted and waiting for their objects to go: their resource refuses creates. */
  private readonly terminating = new Set<string>();

  /** CRDs not served because a name of theirs is taken, by name. */
  private readonly conflicting = new Map<string, CustomResourceDefinition>();

  /** Why a CRD's names cannot be accepted (upstream's NamesAccepted=False reasons), or undefined. */
  private conflictOf(crd: CustomResourceDefinition): { reason: string; message: string } | undefined {
    const group = crd.spec?.group ?? "";
    const names = crd.spec?.names ?? {};
    const taken = (what: string, reason: string) => ({ reason, message: `"${what}" is already in use` });
    if (names.plural && this.builtIn(group, names.plural)) return taken(names.plural, "PluralConflict");
    for (const [other, defs] of this.defs) {
      const d = defs[0];
      if (other === crd.metadata.name || !d || d.group !== group) continue;
      const words = [d.plural, d.singular, ...d.shortNames];
      if (names.kind && d.kind === names.kind) return taken(names.kind, "KindConflict");
      if (names.listKind && d.listKind === names.listKind) return taken(names.listKind, "ListKindConflict");
      if (names.singular && words.includes(names.singular)) return taken(names.singular, "SingularConflict");
      const short = names.shortNames?.find((n) => words.includes(n));
      if (short) return taken(short, "ShortNamesConflict");
    }
    return undefined;
  }

  private changed(crd: CustomResourceDefinition) {
    const name = crd.metadata.name!;
    if (crd.metadata.deletionTimestamp) {
      // Terminating: still served (so finalizers can be removed), but no new objects; the
      // resource goes when the CRD does.
      if (this.terminating.has(name)) return;
      this.terminating.add(name);
      const def = this.defs.get(name)?.[0];
      this.conflicting.delete(name);
      this.enqueue(() => this.cleanUp(crd, def));
      return;
    }
    const conflict = this.conflictOf(crd);
    if (conflict) {
      this.conflicting.set(name, crd);
      this.specs.delete(name);
      if (this.defs.delete(name)) this.reindex();
      this.enqueue(() => this.establish(crd, conflict));
      return;
    }
    this.conflicting.delete(name);
    const spec = JSON.stringify(crd.spec);
    if (this.specs.get(name) !== spec) {
      const defs = customResourceDefs(crd, () => this.terminating.has(name));
      if (!defs.length) return this.unregister(name);
      this.defs.set(name, defs);
      this.specs.set(name, spec);
      this.reindex();
    }
    this.enqueue(() => this.establish(crd));
  }

  private enqueue(work: () => Promise<void>) {
    this.queue = this.queue.then(work).catch((e) => log.warn("custom resource definition not brought up to date", { error: String(e) }));
  }

  /** Writes NamesAccepted, Established, acceptedNames and storedVersions when they are not said yet. */
  private async establish(seen: CustomResourceDefinition, conflict?: { reason: string; message: string }) {
    const crd = this.objects.tryGet(this.crds, undefined, seen.metadata.name!) as CustomResourceDefinition | undefined;
    if (!crd || crd.metadata.deletionTimestamp) return;
    const status = structuredClone(crd.status ?? {});
    const names = crd.spec?.names ?? {};
    const storage = crd.spec?.versions?.find((v) => v.storage)?.name;
    const conditions = status.conditions ?? [];
    const want = conflict
      ? [
          { type: "NamesAccepted", status: "False", ...conflict },
          { type: "Established", status: "False", reason: "NotAccepted", message: "not all names are accepted" },
        ]
      : [
          { type: "NamesAccepted", status: "True", reason: "NoConflicts", message: "no conflicts found" },
          { type: "Established", status: "True", reason: "InitialNamesAccepted", message: "the initial names have been accepted" },
        ];
    let dirty = false;
    for (const w of want) {
      const c = conditions.find((x) => x.type === w.type);
      if (c?.status === w.status && c.reason === w.reason) continue;
      dirty = true;
      if (c) Object.assign(c, w, { lastTransitionTime: now() });
      else conditions.push({ ...w, lastTransitionTime: now() });
    }
    status.conditions = conditions;
    if (!conflict && JSON.stringify(status.acceptedNames) !== JSON.stringify(names)) {
      status.acceptedNames = names;
      dirty = true;
    }
    if (storage && !status.storedVersions?.includes(storage)) {
      status.storedVersions = [...(status.storedVersions ?? []), storage];
      dirty = true;
    }
    if (!dirty) return;
    await this.objects.update(this.crds, undefined, crd.metadata.name!, { ...crd, status } as KubeObject, { subresource: "status" });
  }

  /** Deletes every object of a deleted CRD's resource, then lets the CRD go. */
  private async cleanUp(seen: CustomResourceDefinition, def: ResourceDef | undefined) {
    if (def) {
      for (const obj of this.objects.list(def).items) {
        try {
          await this.deleter.delete(def, obj.metadata.namespace, obj.metadata.name!, { propagationPolicy: "Background" });
        } catch (e) {
          log.warn("custom resource not deleted with its definition", { name: obj.metadata.name, error: String(e) });
        }
      }
      if (this.objects.list(def).items.length) {
        // Objects still finalizing: the CRD waits for them, looking again in a while.
        const timer = setTimeout(() => {
          this.retries.delete(timer);
          this.enqueue(() => this.cleanUp(seen, def));
        }, CLEANUP_RETRY_MS);
        this.retries.add(timer);
        return;
      }
    }
    const crd = this.objects.tryGet(this.crds, undefined, seen.metadata.name!) as CustomResourceDefinition | undefined;
    if (!crd?.metadata.finalizers?.includes(CLEANUP_FINALIZER)) return;
    const finalizers = crd.metadata.finalizers.filter((f) => f !== CLEANUP_FINALIZER);
    await this.objects.update(this.crds, undefined, crd.metadata.name!, { ...crd, metadata: { ...crd.metadata, finalizers } });
  }
}
