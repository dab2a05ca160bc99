// The garbage collector's view of ownership: every object it watches, by uid, and for each uid
// the objects that name it in their ownerReferences. Built from the informers' events; the
// objects themselves are the informers' cached instances (no copies).
import type { KubeObject, OwnerReference } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";

export interface GraphNode {
  def: ResourceDef;
  obj: KubeObject;
}

export class OwnershipGraph {
  private readonly byUid = new Map<string, GraphNode>();
  /** owner uid → uids of the objects that reference it (the owner itself may not exist). */
  private readonly dependentsByOwner = new Map<string, Set<string>>();

  get(uid: string): GraphNode | undefined {
    return this.byUid.get(uid);
  }

  /** Records the object; returns the owner uids it referenced before (for re-checks). */
  upsert(def: ResourceDef, obj: KubeObject): string[] {
    const uid = obj.metadata.uid!;
    const before = this.byUid.get(uid)?.obj.metadata.ownerReferences ?? [];
    this.byUid.set(uid, { def, obj });
    for (const r of before) this.dependentsByOwner.get(r.uid)?.delete(uid);
    for (const r of obj.metadata.ownerReferences ?? []) this.link(r, uid);
    return before.map((r) => r.uid);
  }

  remove(obj: KubeObject) {
    const uid = obj.metadata.uid!;
    const node = this.byUid.get(uid);
    this.byUid.delete(uid);
    for (const r of node?.obj.metadata.ownerReferences ?? obj.metadata.ownerReferences ?? []) {
      const deps = this.dependentsByOwner.get(r.uid);
      deps?.delete(uid);
      if (deps?.size === 0) this.dependentsByOwner.delete(r.uid);
    }
  }

  /** The objects that reference `ownerUid` and are still known. */
  dependents(ownerUid: string): GraphNode[] {
    const out: GraphNode[] = [];
    for (const uid of this.dependentsByOwner.get(ownerUid) ?? []) {
      const n = this.byUid.get(uid);
      if (n) out.push(n);
    }
    return out;
  }

  dependentUids(ownerUid: string): string[] {
    return [...(this.dependentsByOwner.get(ownerUid) ?? [])];
  }

  private link(r: OwnerReference, uid: string) {
    let deps = this.dependentsByOwner.get(r.uid);
    if (!deps) this.dependentsByOwner.set(r.uid, (deps = new Set()));
    deps.add(uid);
  }
}
