// The built-in local-path provisioner (k3s's rancher.io/local-path): a claim of a class with this
// provisioner gets a hostPath volume under the storage root, in a directory named
// <volume>_<namespace>_<claim>, pinned to the node chosen for its first pod. The kubelet of that
// node makes the directory when a pod mounts it (hostPath type DirectoryOrCreate) and removes it
// when the volume is released with reclaim policy Delete.
import { join } from "node:path";
import type { Node } from "../../../api/resources/core/node";
import type { PersistentVolume } from "../../../api/resources/core/persistentvolume";
import type { PersistentVolumeClaim } from "../../../api/resources/core/persistentvolumeclaim";
import type { StorageClass } from "../../../api/resources/storage/storageclass";
import { LOCAL_PATH_NODE_ANNOTATION, LOCAL_PATH_PROVISIONER, PROVISIONED_BY_ANNOTATION } from "../../../api/storage-annotations";

const HOSTNAME_LABEL = "kubernetes.io/hostname";
const SUPPORTED_MODES = ["ReadWriteOnce", "ReadWriteOncePod"];

/** Upstream's provisioned volume name: pvc-<claim uid>. */
export const provisionedVolumeName = (pvc: PersistentVolumeClaim) => `pvc-${pvc.metadata.uid}`;

/** The volume for the claim, or why the local-path provisioner cannot make one. */
export function localPathVolume(pvc: PersistentVolumeClaim, sc: StorageClass, node: Node | undefined, storageRoot: string): PersistentVolume | { error: string } {
  if (!node) return { error: "configuration error, no node was specified" };
  if (pvc.spec?.volumeMode === "Block") return { error: "Block volume mode is not supported by the local-path provisioner" };
  const unsupported = (pvc.spec?.accessModes ?? []).filter((m) => !SUPPORTED_MODES.includes(m));
  if (unsupported.length) return { error: `access mode ${unsupported[0]} is not supported by the local-path provisioner (only ${SUPPORTED_MODES.join(", ")})` };
  const name = provisionedVolumeName(pvc);
  const nodeName = node.metadata.name ?? "";
  const { namespace = "", name: claimName = "" } = pvc.metadata;
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, annotations: { [PROVISIONED_BY_ANNOTATION]: LOCAL_PATH_PROVISIONER, [LOCAL_PATH_NODE_ANNOTATION]: nodeName } },
    spec: {
      capacity: { storage: pvc.spec?.resources?.requests?.storage ?? "0" },
      accessModes: [...(pvc.spec?.accessModes ?? [])],
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? "Delete",
      storageClassName: sc.metadata.name,
      volumeMode: "Filesystem",
      hostPath: { path: join(storageRoot, `${name}_${namespace}_${claimName}`), type: "DirectoryOrCreate" },
      nodeAffinity: {
        required: { nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: "In", values: [node.metadata.labels?.[HOSTNAME_LABEL] ?? nodeName] }] }] },
      },
      claimRef: { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace, name: claimName, uid: pvc.metadata.uid, resourceVersion: pvc.metadata.resourceVersion },
    },
  };
}
