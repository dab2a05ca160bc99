// Which volume a claim gets, as upstream's FindMatchingVolume: a volume already reserved for the
// claim (spec.claimRef naming it) wins; otherwise the smallest Available volume of the claim's
// class whose size, access modes, volume mode, labels (the claim's selector) and, once a node is
// chosen, node affinity fit.
import { compareQuantities, tryParseQuantity } from "../../../api/quantity";
import { selectorMatches } from "../../../api/resources/common";
import type { Node } from "../../../api/resources/core/node";
import type { PersistentVolume } from "../../../api/resources/core/persistentvolume";
import { BETA_STORAGE_CLASS_ANNOTATION, type PersistentVolumeClaim } from "../../../api/resources/core/persistentvolumeclaim";
import { anyTermMatches } from "../../scheduler/match";
import type { NodeInfo } from "../../scheduler/types";

/** upstream's GetPersistentVolumeClaimClass: the beta annotation wins over spec.storageClassName. */
export const claimClassOf = (pvc: PersistentVolumeClaim) => pvc.metadata.annotations?.[BETA_STORAGE_CLASS_ANNOTATION] ?? pvc.spec?.storageClassName ?? "";
export const volumeClassOf = (pv: PersistentVolume) => pv.metadata.annotations?.["volume.beta.kubernetes.io/storage-class"] ?? pv.spec?.storageClassName ?? "";

/** The volume's claimRef names this claim (and, once the claim's uid is written there, the same uid). */
export function isVolumeBoundToClaim(pv: PersistentVolume, pvc: PersistentVolumeClaim): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref) return false;
  if (ref.name !== pvc.metadata.name || ref.namespace !== pvc.metadata.namespace) return false;
  return !ref.uid || ref.uid === pvc.metadata.uid;
}

/** Whether the node satisfies the volume's required node affinity (no affinity: every node). */
export function volumeFitsNode(pv: PersistentVolume, node: Pick<Node, "metadata">): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  if (!terms) return true;
  const info = { name: node.metadata.name ?? "", labels: node.metadata.labels ?? {} } as unknown as NodeInfo;
  return anyTermMatches(terms, info);
}

const storageOf = (q: unknown) => tryParseQuantity(q);

/** checkAccessModes: the volume offers every mode the claim asks for. */
export const accessModesFit = (pv: PersistentVolume, pvc: PersistentVolumeClaim) => (pvc.spec?.accessModes ?? []).every((m) => pv.spec?.accessModes?.includes(m));

/** A Filesystem claim takes only a Filesystem volume; a Block claim only a Block one. */
export const volumeModeFits = (pv: PersistentVolume, pvc: PersistentVolumeClaim) => (pv.spec?.volumeMode ?? "Filesystem") === (pvc.spec?.volumeMode ?? "Filesystem");

/**
 * The best volume for the claim among `volumes`, or undefined. `node` is the node chosen for the
 * claim's first pod (WaitForFirstConsumer); volumes pinned elsewhere are then left out.
 */
export function findMatchingVolume(pvc: PersistentVolumeClaim, volumes: readonly PersistentVolume[], node?: Pick<Node, "metadata">): PersistentVolume | undefined {
  const wanted = storageOf(pvc.spec?.resources?.requests?.storage);
  if (!wanted) return undefined;
  const cls = claimClassOf(pvc);
  let best: PersistentVolume | undefined;
  let bestSize: ReturnType<typeof storageOf>;
  for (const pv of volumes) {
    if (pv.metadata.deletionTimestamp) continue;
    const size = storageOf(pv.spec?.capacity?.storage);
    if (!size || compareQuantities(size, wanted) < 0) continue;
    if (!volumeModeFits(pv, pvc)) continue;
    if (isVolumeBoundToClaim(pv, pvc)) {
      if (node && !volumeFitsNode(pv, node)) continue;
      return pv; // reserved for this claim (pre-bound, or bound by an earlier pass)
    }
    if (pv.status?.phase !== "Available" || pv.spec?.claimRef) continue;
    if (node && !volumeFitsNode(pv, node)) continue;
    if (pvc.spec?.selector && !selectorMatches(pvc.spec.selector, pv.metadata.labels)) continue;
    if (volumeClassOf(pv) !== cls) continue;
    if (!accessModesFit(pv, pvc)) continue;
    if (!best || compareQuantities(bestSize!, size) > 0) {
      best = pv;
      bestSize = size;
    }
  }
  return best;
}
