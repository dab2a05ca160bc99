// The garbage collector's reconcile, keyed by object uid, in upstream's model:
// - an object whose owners are all gone (dangling ownerReferences: no object with that uid) is
//   deleted; one with some owners left only loses the references to the gone ones;
// - an owner deleted with propagationPolicy=Foreground carries the `foregroundDeletion`
//   finalizer: its dependents are deleted, and once the blocking ones (blockOwnerDeletion) are
//   gone from storage the finalizer is removed, which lets the API server delete the owner;
// - an owner deleted with Orphan carries `orphan`: its dependents lose the reference, then the
//   finalizer goes.
import { ApiError } from "../../../api/errors";
import type { KubeObject, OwnerReference } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import type { DeleteOptions, KubeClient } from "../../../client/client";
import type { EventRecorder } from "../../../client/events";
import { createLogger } from "../../../machinery/log";
import type { ReconcileResult, Reconciler } from "../../../machinery/controlloop";
import type { GraphNode, OwnershipGraph } from "./graph";

export const FOREGROUND = "foregroundDeletion";
export const ORPHAN = "orphan";

type OwnerState = "solid" | "waiting" | "dangling" | "unknown";

/** How long a foreground owner waits before looking at its dependents again (events usually come first). */
const FOREGROUND_RECHECK_MS = 10_000;

const isNotFound = (e: unknown) => e instanceof ApiError && e.code === 404;
/** 404: already gone; 409: a precondition (uid) failed, so the object was replaced. Both are done. */
const isGoneOrReplaced = (e: unknown) => e instanceof ApiError && (e.code === 404 || e.code === 409);
const groupOf = (apiVersion: string) => (apiVersion.includes("/") ? apiVersion.split("/")[0] : "");

export class Collector implements Reconciler {
  readonly name = "garbage-collector";
  private readonly log = createLogger("garbage-collector");
  /** Owner uids confirmed absent by a live read. uids are never reused, so absent stays absent. */
  private readonly absent = new Set<string>();

  constructor(
    private readonly client: KubeClient,
    private readonly graph: OwnershipGraph,
    private readonly resources: ResourceDef[],
    private readonly events: EventRecorder,
    private readonly enqueue: (uid: string) => void,
  ) {}

  async reconcile(uid: string): Promise<ReconcileResult | void> {
    const node = this.graph.get(uid);
    if (!node) return;
    const m = node.obj.metadata;
    if (m.deletionTimestamp) {
      if (m.finalizers?.includes(ORPHAN)) await this.orphanDependents(node);
      if (m.finalizers?.includes(FOREGROUND)) return this.deleteDependents(node);
      return;
    }
    if (m.ownerReferences?.length) await this.checkOwners(node);
  }

  onError(uid: string, error: unknown) {
    const node = this.graph.get(uid);
    if (node) this.events.event(withKind(node), "Warning", "GarbageCollectionFailed", `garbage collector: ${error instanceof Error ? error.message : String(error)}`);
  }

  /** attemptToDelete: delete the object when no owner is left, or drop references to gone owners. */
  private async checkOwners(node: GraphNode) {
    const refs = node.obj.metadata.ownerReferences ?? [];
    const states = await Promise.all(refs.map((r) => this.ownerState(node, r)));
    const with_ = (s: OwnerState) => refs.filter((_, i) => states[i] === s);
    const [solid, waiting, dangling] = [with_("solid"), with_("waiting"), with_("dangling")];
    // An owner we cannot resolve (unknown kind) counts as present: never delete on a guess.
    if (solid.length || with_("unknown").length) {
      if (dangling.length || waiting.length) await this.dropReferences(node, [...dangling, ...waiting].map((r) => r.uid));
      return;
    }
    if (waiting.length) {
      // An owner waits for us: go in the foreground too when we have dependents of our own.
      const policy = this.graph.dependentUids(node.obj.metadata.uid!).length ? "Foreground" : "Background";
      return this.deleteObject(node, policy, `its owner ${describe(waiting[0])} is being deleted in the foreground`);
    }
    await this.deleteObject(node, ownPolicy(node.obj), `all its owners are gone (${dangling.map(describe).join(", ")})`);
  }

  private async ownerState(node: GraphNode, ref: OwnerReference): Promise<OwnerState> {
    const def = this.resources.find((d) => d.kind === ref.kind && d.group === groupOf(ref.apiVersion));
    if (!def) return "unknown";
    const namespace = def.namespaced ? node.obj.metadata.namespace : undefined;
    if (def.namespaced && !namespace) return "unknown"; // a cluster-scoped object cannot have a namespaced owner
    if (this.absent.has(ref.uid)) return "dangling";
    const cached = this.graph.get(ref.uid);
    let owner: KubeObject | undefined = cached && cached.def === def && cached.obj.metadata.namespace === namespace ? cached.obj : undefined;
    if (!owner) {
      // Not in our caches: maybe created a moment ago and not seen yet. Ask the API server.
      try {
        owner = await this.client.resource(def).get(namespace, ref.name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (!owner || owner.metadata.uid !== ref.uid) {
        if (this.absent.size > 50_000) this.absent.clear(); // bounded; a miss only costs a read
        this.absent.add(ref.uid);
        return "dangling";
      }
    }
    const waiting = owner.metadata.deletionTimestamp && owner.metadata.finalizers?.includes(FOREGROUND);
    return waiting ? "waiting" : "solid";
  }

  private async deleteDependents(owner: GraphNode): Promise<ReconcileResult | void> {
    const uid = owner.obj.metadata.uid!;
    const dependents = this.graph.dependents(uid);
    // Each dependent is judged on its own key: it may have other owners that keep it.
    for (const d of dependents) if (!d.obj.metadata.deletionTimestamp) this.enqueue(d.obj.metadata.uid!);
    const blocking = dependents.filter((d) => d.obj.metadata.ownerReferences?.some((r) => r.uid === uid && r.blockOwnerDeletion));
    if (blocking.length) return { requeueAfterMs: FOREGROUND_RECHECK_MS };
    await this.removeFinalizer(owner, FOREGROUND);
  }

  private async orphanDependents(owner: GraphNode) {
    const uid = owner.obj.metadata.uid!;
    for (const d of this.graph.dependents(uid)) await this.dropReferences(d, [uid]);
    await this.removeFinalizer(owner, ORPHAN);
  }

  /** A strategic merge patch deleting by merge key (uid), as upstream's GC sends: no read-modify-write race. */
  private async dropReferences(node: GraphNode, uids: string[]) {
    const patch = { metadata: { ownerReferences: uids.map((u) => ({ $patch: "delete", uid: u })) } };
    await this.ignoreGone(this.client.resource(node.def).patch(node.obj.metadata.namespace, node.obj.metadata.name!, patch, "strategic"));
  }

  private async removeFinalizer(node: GraphNode, finalizer: string) {
    const patch = { metadata: { [`$deleteFromPrimitiveList/finalizers`]: [finalizer] } };
    await this.ignoreGone(this.client.resource(node.def).patch(node.obj.metadata.namespace, node.obj.metadata.name!, patch, "strategic"));
  }

  /** No Event per collected object (upstream records none either): a cascade of thousands would double its writes. */
  private async deleteObject(node: GraphNode, policy: NonNullable<DeleteOptions["propagationPolicy"]>, why: string) {
    const { namespace, name, uid } = node.obj.metadata;
    this.log.debug("deleting dependent", { object: `${node.def.plural}/${namespace ? `${namespace}/` : ""}${name}`, why });
    await this.ignoreGone(this.client.resource(node.def).delete(namespace, name!, { propagationPolicy: policy, preconditions: { uid } }));
  }

  private async ignoreGone(p: Promise<unknown>) {
    try {
      await p;
    } catch (e) {
      if (!isGoneOrReplaced(e)) throw e;
    }
  }
}

/** The policy an object asked for itself (a finalizer it already carries), else Background. */
function ownPolicy(obj: KubeObject): NonNullable<DeleteOptions["propagationPolicy"]> {
  const f = obj.metadata.finalizers ?? [];
  return f.includes(ORPHAN) ? "Orphan" : f.includes(FOREGROUND) ? "Foreground" : "Background";
}

const describe = (r: OwnerReference) => `${r.kind}/${r.name}`;

function withKind(node: GraphNode): KubeObject {
  const v = node.def.group ? `${node.def.group}/${node.def.version}` : node.def.version;
  return { ...node.obj, apiVersion: node.obj.apiVersion ?? v, kind: node.obj.kind ?? node.def.kind };
}
