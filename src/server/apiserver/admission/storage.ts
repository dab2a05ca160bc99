// Two of upstream's storage admission plugins. DefaultStorageClass: a claim created without
// spec.storageClassName (nil, not "") gets the default StorageClass. StorageObjectInUseProtection:
// every new claim carries kubernetes.io/pvc-protection and every new volume
// kubernetes.io/pv-protection, finalizers the persistent-volume controller removes only once the
// claim is used by no pod, or the volume is bound to no claim. PersistentVolumeClaimResize: a
// bigger storage request is taken only for a bound claim whose StorageClass allows expansion.
import { KINDS, sameResource } from "../../../api/kinds";
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import { BETA_STORAGE_CLASS_ANNOTATION, type PersistentVolumeClaim } from "../../../api/resources/core/persistentvolumeclaim";
import { isDefaultClass, type StorageClass } from "../../../api/resources/storage/storageclass";
import { compareQuantities, tryParseQuantity } from "../../../api/quantity";
import type { AdmissionPlugin } from "./admission";
import { forbiddenFor } from "./forbidden";

export const PVC_PROTECTION_FINALIZER = "kubernetes.io/pvc-protection";
export const PV_PROTECTION_FINALIZER = "kubernetes.io/pv-protection";

/** GetDefaultClass: among the classes marked default, the newest (then the first by name). */
export function defaultStorageClass(classes: readonly StorageClass[]): StorageClass | undefined {
  const defaults = classes.filter(isDefaultClass);
  defaults.sort((a, b) => (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? "") || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  return defaults[0];
}

export class StorageAdmission implements AdmissionPlugin {
  constructor(private readonly classes: () => StorageClass[]) {}

  admit(op: "create" | "update", def: ResourceDef, obj: KubeObject, old?: KubeObject): void {
    if (op === "update") {
      if (old && sameResource(def, KINDS.persistentVolumeClaims)) this.admitResize(def, obj as PersistentVolumeClaim, old as PersistentVolumeClaim);
      return;
    }
    if (sameResource(def, KINDS.persistentVolumeClaims)) {
      const pvc = obj as PersistentVolumeClaim;
      addFinalizer(pvc, PVC_PROTECTION_FINALIZER);
      if (pvc.spec && pvc.spec.storageClassName === undefined && pvc.metadata.annotations?.[BETA_STORAGE_CLASS_ANNOTATION] === undefined) {
        const dflt = defaultStorageClass(this.classes());
        if (dflt) pvc.spec.storageClassName = dflt.metadata.name;
      }
    } else if (sameResource(def, KINDS.persistentVolumes)) addFinalizer(obj, PV_PROTECTION_FINALIZER);
  }

  /** Upstream's PersistentVolumeClaimResize: growth needs a bound claim of a class allowing it. */
  private admitResize(def: ResourceDef, pvc: PersistentVolumeClaim, old: PersistentVolumeClaim) {
    const newSize = tryParseQuantity(pvc.spec?.resources?.requests?.storage);
    const oldSize = tryParseQuantity(old.spec?.resources?.requests?.storage);
    if (!newSize || !oldSize || compareQuantities(newSize, oldSize) <= 0) return;
    if (old.status?.phase !== "Bound") throw forbiddenFor(def, pvc, "Only bound persistent volume claims can be expanded");
    const className = claimClass(pvc);
    const cls = className && className === claimClass(old) ? this.classes().find((c) => c.metadata.name === className) : undefined;
    if (cls?.allowVolumeExpansion !== true)
      throw forbiddenFor(def, pvc, "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize");
  }
}

/** GetPersistentVolumeClaimClass: the beta annotation wins over spec.storageClassName. */
const claimClass = (pvc: PersistentVolumeClaim) => pvc.metadata.annotations?.[BETA_STORAGE_CLASS_ANNOTATION] ?? pvc.spec?.storageClassName ?? "";

function addFinalizer(obj: KubeObject, finalizer: string) {
  const list = (obj.metadata.finalizers ??= []);
  if (!list.includes(finalizer)) list.push(finalizer);
}
