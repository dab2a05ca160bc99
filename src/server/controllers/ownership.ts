// Adoption and release by controller ownerReference, like upstream's ControllerRefManager: an
// owner claims the objects its selector matches that have no controller, and lets go of the
// ones it controls that no longer match. Writes are merge patches pinned to the object's
// resourceVersion, so a stale cache ends in a Conflict and a retry, never a lost write.
import { ApiError } from "../../api/errors";
import type { KubeObject, OwnerReference } from "../../api/meta";
import type { ResourceClient } from "../../client/client";
import { controllerRefOf } from "./podutil";

export interface Owner {
  apiVersion: string;
  kind: string;
  obj: KubeObject;
  /** Whether a label set is selected by the owner. */
  matches(labels: Record<string, string> | undefined): boolean;
}

export const controllerRefTo = (o: { apiVersion: string; kind: string; obj: KubeObject }): OwnerReference => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  name: o.obj.metadata.name!,
  uid: o.obj.metadata.uid!,
  controller: true,
  blockOwnerDeletion: true,
});

const gone = (e: unknown) => e instanceof ApiError && e.code === 404;

/**
 * The objects (from `candidates`, all in the owner's namespace) the owner controls after
 * adopting orphans and releasing non-matching ones. `canAdopt` is asked once, before the first
 * adoption, to re-check against the API that the owner still exists and is not being deleted.
 */
export async function claimObjects<T extends KubeObject>(
  owner: Owner,
  candidates: T[],
  client: ResourceClient<T>,
  canAdopt: () => Promise<boolean>,
): Promise<T[]> {
  const uid = owner.obj.metadata.uid;
  const claimed: T[] = [];
  let adoptable: boolean | undefined;
  for (const obj of candidates) {
    const ref = controllerRefOf(obj);
    const matches = owner.matches(obj.metadata.labels);
    if (ref) {
      if (ref.uid !== uid) continue;
      if (matches) claimed.push(obj);
      else if (!owner.obj.metadata.deletionTimestamp) await release(obj, uid!, client);
      continue;
    }
    if (!matches || obj.metadata.deletionTimestamp || owner.obj.metadata.deletionTimestamp) continue;
    adoptable ??= await canAdopt();
    if (!adoptable) continue;
    const adopted = await adopt(owner, obj, client);
    if (adopted) claimed.push(adopted);
  }
  return claimed;
}

async function adopt<T extends KubeObject>(owner: Owner, obj: T, client: ResourceClient<T>): Promise<T | undefined> {
  const refs = [...(obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== owner.obj.metadata.uid), controllerRefTo(owner)];
  try {
    return await client.patch(obj.metadata.namespace, obj.metadata.name!, { metadata: { ownerReferences: refs, resourceVersion: obj.metadata.resourceVersion } });
  } catch (e) {
    if (gone(e)) return undefined;
    throw e;
  }
}

async function release<T extends KubeObject>(obj: T, ownerUid: string, client: ResourceClient<T>) {
  const refs = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== ownerUid);
  try {
    await client.patch(obj.metadata.namespace, obj.metadata.name!, {
      metadata: { ownerReferences: refs.length ? refs : null, resourceVersion: obj.metadata.resourceVersion },
    });
  } catch (e) {
    if (!gone(e)) throw e;
  }
}
