// The StatefulSet controller's writes (upstream's StatefulPodControl): pods with their claims,
// identity fixes, and the owner references on claims that carry the
// persistentVolumeClaimRetentionPolicy. A claim owned by the set goes when the set is deleted
// (whenDeleted: Delete); one owned by its pod goes when a scale-down deletes that pod
// (whenScaled: Delete). The garbage collector does the deleting. Reads come from the caches.
import { ApiError } from "../../../api/errors";
import type { KubeObject, OwnerReference } from "../../../api/meta";
import type { PersistentVolumeClaim } from "../../../api/resources/core/persistentvolumeclaim";
import type { Pod } from "../../../api/resources/core/pod";
import type { StatefulSet } from "../../../api/resources/apps/statefulset";
import type { ResourceClient } from "../../../client/client";
import type { EventRecorder } from "../../../client/events";
import { claimsFor, identityLabels, inOrdinalRange, ordinalOf, withKind } from "./identity";
import type { StatefulPodControl } from "./update";

const code = (e: unknown) => (e instanceof ApiError ? e.code : undefined);
const isAlreadyExists = (e: unknown) => e instanceof ApiError && e.code === 409 && e.reason === "AlreadyExists";
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const title = (verb: string) => verb[0]!.toUpperCase() + verb.slice(1);

export interface PodControlDeps {
  pods: ResourceClient<Pod>;
  claims: ResourceClient<PersistentVolumeClaim>;
  /** The cached claim by namespace/name. */
  cachedClaim(key: string): PersistentVolumeClaim | undefined;
  /** The cached pod by namespace/name. */
  cachedPod(key: string): Pod | undefined;
  recorder: EventRecorder;
}

const hasOwnerRef = (target: KubeObject, owner: KubeObject) => !!owner.metadata.uid && (target.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid);

/** A claim some third object controls: the retention policy leaves it alone. */
const hasUnexpectedController = (claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod) =>
  (claim.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid !== set.metadata.uid && r.uid !== pod.metadata.uid);

type Policy = { whenDeleted: string; whenScaled: string };
const policyOf = (set: StatefulSet): Policy => ({
  whenDeleted: set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted === "Delete" ? "Delete" : "Retain",
  whenScaled: set.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled === "Delete" ? "Delete" : "Retain",
});

/** Which of the set and the pod should own the claim under the set's policy (upstream's isClaimOwnerUpToDate cases). */
function wantedOwners(set: StatefulSet, pod: Pod): { set: boolean; pod: boolean } {
  const policy = policyOf(set);
  const scaledDown = !inOrdinalRange(set, ordinalOf(pod));
  if (policy.whenScaled === "Retain") return { set: policy.whenDeleted === "Delete", pod: false };
  if (policy.whenDeleted === "Retain") return { set: false, pod: scaledDown };
  return { set: !scaledDown, pod: scaledDown };
}

/** Whether the claim's owner references already say what the policy wants. */
export function claimOwnersUpToDate(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod): boolean {
  // Owned by something else: left alone, unless a former set or pod of ours also owns it.
  if (hasUnexpectedController(claim, set, pod)) return !(hasOwnerRef(claim, set) || hasOwnerRef(claim, pod));
  const want = wantedOwners(set, pod);
  return hasOwnerRef(claim, set) === want.set && hasOwnerRef(claim, pod) === want.pod;
}

/** The claim's owner references with the set's and the pod's added or removed as the policy wants. */
export function claimOwnersFor(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod): OwnerReference[] {
  const want = wantedOwners(set, pod);
  let refs = [...(claim.metadata.ownerReferences ?? [])];
  const apply = (owner: KubeObject, apiVersion: string, kind: string, wanted: boolean) => {
    if (!owner.metadata.uid) return;
    const has = refs.some((r) => r.uid === owner.metadata.uid);
    if (wanted && !has) refs.push({ apiVersion, kind, name: owner.metadata.name!, uid: owner.metadata.uid });
    if (!wanted && has) refs = refs.filter((r) => r.uid !== owner.metadata.uid);
  };
  apply(set, "apps/v1", "StatefulSet", want.set);
  apply(pod, "v1", "Pod", want.pod);
  return refs;
}

export class PodControl implements StatefulPodControl {
  constructor(private readonly d: PodControlDeps) {}

  private podEvent(verb: string, set: StatefulSet, pod: Pod, err?: unknown) {
    if (err === undefined) this.d.recorder.event(withKind(set), "Normal", `Successful${title(verb)}`, `${verb} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
    else this.d.recorder.event(withKind(set), "Warning", `Failed${title(verb)}`, `${verb} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${message(err)}`);
  }

  private claimEvent(set: StatefulSet, pod: Pod, claim: string, err?: unknown) {
    if (err === undefined) this.d.recorder.event(withKind(set), "Normal", "SuccessfulCreate", `create Claim ${claim} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} success`);
    else this.d.recorder.event(withKind(set), "Warning", "FailedCreate", `create Claim ${claim} for Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${message(err)}`);
  }

  /** Creates every claim of the pod that does not exist; fails when one is being deleted. */
  private async createClaims(set: StatefulSet, pod: Pod): Promise<void> {
    const errors: string[] = [];
    for (const claim of claimsFor(set, ordinalOf(pod)).values()) {
      const name = claim.metadata.name!;
      const cached = this.d.cachedClaim(`${claim.metadata.namespace}/${name}`);
      if (cached) {
        if (cached.metadata.deletionTimestamp) errors.push(`pvc ${name} is being deleted`);
        continue;
      }
      try {
        await this.d.claims.create(claim.metadata.namespace, claim);
        this.claimEvent(set, pod, name);
      } catch (e) {
        if (isAlreadyExists(e)) continue; // the cache had not seen it yet
        errors.push(`failed to create PVC ${name}: ${message(e)}`);
        this.claimEvent(set, pod, name, e);
      }
    }
    if (errors.length) throw new Error(errors.join("; "));
  }

  async createPod(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.createClaims(set, pod);
    } catch (e) {
      this.podEvent("create", set, pod, e);
      throw e;
    }
    let created: Pod;
    try {
      created = await this.d.pods.create(pod.metadata.namespace, pod);
    } catch (e) {
      if (isAlreadyExists(e)) {
        // Not in the cache yet: made a moment ago by this controller; the watch brings it.
        if (!this.d.cachedPod(`${pod.metadata.namespace}/${pod.metadata.name}`)) return;
        // A pod of that name the set does not control (its labels no longer match, or it was
        // never the set's): the ordinal stays empty until it is gone, as upstream.
        this.podEvent("create", set, pod, e);
        throw e;
      }
      // A terminating namespace refuses new pods; the namespace controller is removing the set.
      if (code(e) === 403) return;
      this.podEvent("create", set, pod, e);
      throw e;
    }
    this.podEvent("create", set, pod);
    try {
      await this.updateClaimsForRetention(set, created);
    } catch (e) {
      this.podEvent("update", set, created, e);
      throw e;
    }
  }

  async deletePod(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.d.pods.delete(pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
    } catch (e) {
      if (code(e) === 404 || code(e) === 409) return; // gone, or another pod by now
      this.podEvent("delete", set, pod, e);
      throw e;
    }
    this.podEvent("delete", set, pod);
  }

  async fixIdentity(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.d.pods.patch(pod.metadata.namespace, pod.metadata.name!, {
        metadata: { labels: identityLabels(pod.metadata.name!, ordinalOf(pod)), resourceVersion: pod.metadata.resourceVersion },
      });
    } catch (e) {
      if (code(e) === 404) return;
      this.podEvent("update", set, pod, e);
      throw e;
    }
  }

  async createMissingClaims(set: StatefulSet, pod: Pod): Promise<void> {
    await this.createClaims(set, pod);
  }

  claimIsStale(set: StatefulSet, pod: Pod): boolean {
    if (policyOf(set).whenScaled === "Retain") return false;
    for (const claim of claimsFor(set, ordinalOf(pod)).values()) {
      const cached = this.d.cachedClaim(`${claim.metadata.namespace}/${claim.metadata.name}`);
      if (cached?.metadata.ownerReferences?.some((r) => r.kind === "Pod" && r.name === pod.metadata.name && r.uid !== pod.metadata.uid)) return true;
    }
    return false;
  }

  claimsMatchRetention(set: StatefulSet, pod: Pod): boolean {
    for (const claim of claimsFor(set, ordinalOf(pod)).values()) {
      const cached = this.d.cachedClaim(`${claim.metadata.namespace}/${claim.metadata.name}`);
      if (cached && !claimOwnersUpToDate(cached, set, pod)) return false;
    }
    return true;
  }

  async updateClaimsForRetention(set: StatefulSet, pod: Pod): Promise<void> {
    for (const claim of claimsFor(set, ordinalOf(pod)).values()) {
      const cached = this.d.cachedClaim(`${claim.metadata.namespace}/${claim.metadata.name}`);
      if (!cached) continue; // made on a later pass
      if (hasUnexpectedController(cached, set, pod)) {
        this.d.recorder.event(
          withKind(set),
          "Warning",
          "ConflictingController",
          `PersistentVolumeClaim ${cached.metadata.name} has a conflicting OwnerReference that acts as a managing controller, the retention policy is ignored for this claim`,
        );
        continue;
      }
      if (claimOwnersUpToDate(cached, set, pod)) continue;
      const refs = claimOwnersFor(cached, set, pod);
      try {
        await this.d.claims.patch(cached.metadata.namespace, cached.metadata.name!, {
          metadata: { ownerReferences: refs.length ? refs : null, resourceVersion: cached.metadata.resourceVersion },
        });
      } catch (e) {
        if (code(e) === 404) continue;
        throw new Error(`could not update claim ${cached.metadata.name} for delete policy ownerRefs: ${message(e)}`);
      }
    }
  }
}
