// The claims a pod's volumes name, as upstream's VolumeBinding and VolumeRestrictions plugins see
// them. Before any node is looked at: a missing or deleted claim, an unbound claim of an
// Immediate class (the persistent-volume controller binds those on its own) and a
// ReadWriteOncePod claim another pod already uses keep the pod Pending. Per node: every bound
// volume's node affinity must match, a claim whose first pod was already placed
// (volume.kubernetes.io/selected-node) keeps later tries on that node, and a
// WaitForFirstConsumer claim with no provisioner needs an Available volume that fits the node.
// Once a node is chosen, the scheduler writes it on the unbound WaitForFirstConsumer claims and
// waits for them to be bound (upstream's PreBind) before binding the pod.
import type { PersistentVolume } from "../../api/resources/core/persistentvolume";
import type { PersistentVolumeClaim } from "../../api/resources/core/persistentvolumeclaim";
import type { Pod } from "../../api/resources/core/pod";
import type { StorageClass } from "../../api/resources/storage/storageclass";
import { SELECTED_NODE_ANNOTATION } from "../../api/storage-annotations";
import { claimClassOf, findMatchingVolume, volumeFitsNode } from "../controllers/persistentvolume/match";
import type { NodeInfo } from "./types";

/** The cached claim by namespace/name. */
export type ClaimLookup = (key: string) => PersistentVolumeClaim | undefined;

/** The cached volumes and storage classes; without them only claims are checked. */
export interface StorageLookup {
  volume(name: string): PersistentVolume | undefined;
  volumes(): PersistentVolume[];
  storageClass(name: string): StorageClass | undefined;
}

export const UNBOUND_IMMEDIATE_CLAIMS = "pod has unbound immediate PersistentVolumeClaims";
export const VOLUME_NODE_CONFLICT = "node(s) had volume node affinity conflict";
export const NO_VOLUME_TO_BIND = "node(s) didn't find available persistent volumes to bind";
export const RWOP_CONFLICT = "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode";

export const usesClaims = (pod: Pod) => !!pod.spec?.volumes?.some((v) => v.persistentVolumeClaim);

const claimNames = (pod: Pod) => (pod.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : []));

/** The pod's claims, resolved once per decision. */
export interface PodClaims {
  /** Why no node can take the pod, or undefined. */
  problem?: string;
  /** Unbound claims waiting for the first consumer's node. */
  delayed: PersistentVolumeClaim[];
  /** Per-node check (undefined: nothing to check). */
  filter?: (node: NodeInfo) => readonly string[] | undefined;
}

const isDelayed = (claim: PersistentVolumeClaim, storage?: StorageLookup) => {
  const cls = claimClassOf(claim);
  return !!cls && storage?.storageClass(cls)?.volumeBindingMode === "WaitForFirstConsumer";
};

/**
 * Resolves the pod's claims. `usersOf(namespace, claim)` names the other scheduled pods using a
 * claim (for ReadWriteOncePod).
 */
export function resolveClaims(pod: Pod, claims: ClaimLookup, storage?: StorageLookup, usersOf?: (namespace: string, claim: string) => number): PodClaims {
  const ns = pod.metadata.namespace ?? "";
  const delayed: PersistentVolumeClaim[] = [];
  const bound: PersistentVolume[] = [];
  const pinned: string[] = [];
  const staticDelayed: PersistentVolumeClaim[] = [];
  let unbound = false;
  for (const name of claimNames(pod)) {
    const claim = claims(`${ns}/${name}`);
    if (!claim) return { problem: `persistentvolumeclaim "${name}" not found`, delayed };
    if (claim.metadata.deletionTimestamp) return { problem: `persistentvolumeclaim "${name}" is being deleted`, delayed };
    if (claim.spec?.accessModes?.includes("ReadWriteOncePod") && usersOf && usersOf(ns, name) > 0) return { problem: RWOP_CONFLICT, delayed };
    const volumeName = claim.spec?.volumeName;
    if (volumeName) {
      const pv = storage?.volume(volumeName);
      if (pv) bound.push(pv);
      else if (storage) return { problem: `persistentvolume "${volumeName}" not found`, delayed };
      continue;
    }
    if (!isDelayed(claim, storage)) {
      unbound = true;
      continue;
    }
    delayed.push(claim);
    const selected = claim.metadata.annotations?.[SELECTED_NODE_ANNOTATION];
    if (selected) pinned.push(selected);
    else if (storage?.storageClass(claimClassOf(claim))?.provisioner === "kubernetes.io/no-provisioner") staticDelayed.push(claim);
  }
  if (unbound) return { problem: UNBOUND_IMMEDIATE_CLAIMS, delayed };
  if (!bound.length && !pinned.length && !staticDelayed.length) return { delayed };
  return {
    delayed,
    filter(node) {
      const meta = { metadata: { name: node.name, labels: { ...node.labels } } };
      if (bound.some((pv) => !volumeFitsNode(pv, meta))) return [VOLUME_NODE_CONFLICT];
      if (pinned.some((n) => n !== node.name)) return [VOLUME_NODE_CONFLICT];
      if (staticDelayed.some((c) => !findMatchingVolume(c, storage!.volumes(), meta))) return [NO_VOLUME_TO_BIND];
      return undefined;
    },
  };
}

/** Kept for callers that only ask whether the claims let the pod in at all. */
export function claimsProblem(pod: Pod, claims: ClaimLookup, storage?: StorageLookup): string | undefined {
  return resolveClaims(pod, claims, storage).problem;
}
