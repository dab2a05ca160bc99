// Two of upstream's storage admission plugins. DefaultStorageClass: a claim created without
// spec.storageClassName (nil, not "") gets the default StorageClass. StorageObjectInUseProtection:
// every new claim carries kubernetes.io/pvc-protection and every new volume
// kubernetes.io/pv-protection, finalizers the persistent-volume controller removes only once the
// claim is used by no pod, or the volume is bound to no claim.
import { KINDS, sameResource } from "../../../api/kinds";
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import { BETA_STORAGE_CLASS_ANNOTATION, type PersistentVolumeClaim } from "../../../api/resources/core/persistentvolumeclaim";
import { isDefaultClass, type StorageClass } from "../../../api/resources/storage/storageclass";
import type { AdmissionPlugin } from "./admission";

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

  admit(op: "create" | "update", def: ResourceDef, obj: KubeObject): void {
    if (op !== "create") return;
    if (sameResource(def, KINDS.persistentVolumeClaims)) {
      const pvc = obj as PersistentVolumeClaim;
      addFinalizer(pvc, PVC_PROTECTION_FINALIZER);
      if (pvc.spec && pvc.spec.storageClassName === undefined && pvc.metadata.annotations?.[BETA_STORAGE_CLASS_ANNOTATION] === undefined) {
        const dflt = defaultStorageClass(this.classes());
        if (dflt) pvc.spec.storageClassName = dflt.metadata.name;
      }
    } else if (sameResource(def, KINDS.persistentVolumes)) addFinalizer(obj, PV_PROTECTION_FINALIZER);
  }
}

function addFinalizer(obj: KubeObject, finalizer: string) {
  const list = (obj.metadata.finalizers ??= []);
  if (!list.includes(finalizer)) list.push(finalizer);
}
