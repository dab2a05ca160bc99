// storage.k8s.io/v1 StorageClass: a named kind of storage that claims ask for by
// spec.storageClassName. Its provisioner makes volumes for claims of the class (bramble has one
// built in, rancher.io/local-path, as k3s); volumeBindingMode WaitForFirstConsumer delays that
// until a pod using the claim is scheduled, so the volume is made on the pod's node. The class
// annotated storageclass.kubernetes.io/is-default-class=true is given to claims that name none.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { Obj, StringMap, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, fieldTooLong, isQualifiedName } from "../../validation";
import { jsonEqual } from "../common";
import { LOCAL_PATH_CLASS, LOCAL_PATH_PROVISIONER } from "../../storage-annotations";

const Opt = Type.Optional;
const Str = () => Type.String();

export const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";
/** The beta annotation older clusters used; upstream still honours it. */
export const BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class";
export const BINDING_MODES = ["Immediate", "WaitForFirstConsumer"];
const CLASS_RECLAIM_POLICIES = ["Delete", "Retain"];
const PROVISIONER_MAX = 63;
const MAX_PARAMETERS = 512;

export const StorageClassSchema = TopLevel(
  {
    provisioner: Type.String({ description: "provisioner indicates the type of the provisioner." }),
    parameters: Opt(StringMap),
    reclaimPolicy: Opt(Str()),
    mountOptions: Opt(Type.Array(Str(), { "x-kubernetes-list-type": "atomic" })),
    allowVolumeExpansion: Opt(Type.Boolean()),
    volumeBindingMode: Opt(Str()),
    allowedTopologies: Opt(
      Type.Array(Obj({ matchLabelExpressions: Opt(Type.Array(Obj({ key: Str(), values: Type.Array(Str()) }))) }), { "x-kubernetes-list-type": "atomic" }),
    ),
  },
  "StorageClass describes the parameters for a class of storage for which PersistentVolumes can be dynamically provisioned.",
);

export type StorageClass = Static<typeof StorageClassSchema> & KubeObject;

/** storageutil.IsDefaultAnnotation: "true" in the GA or the beta annotation. */
export const isDefaultClass = (sc: Pick<StorageClass, "metadata">) =>
  sc.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true" || sc.metadata.annotations?.[BETA_DEFAULT_CLASS_ANNOTATION] === "true";

function validateStorageClass(sc: StorageClass, old?: StorageClass): FieldError[] {
  const errs: FieldError[] = [];
  const provisioner = sc.provisioner ?? "";
  if (!provisioner) errs.push(fieldRequired("provisioner"));
  else if (provisioner.length > PROVISIONER_MAX) errs.push(fieldTooLong("provisioner", PROVISIONER_MAX));
  else for (const msg of isQualifiedName(provisioner.toLowerCase())) errs.push(fieldInvalid("provisioner", provisioner, msg));
  const params = Object.entries(sc.parameters ?? {});
  if (params.length > MAX_PARAMETERS) errs.push(fieldTooLong("parameters", MAX_PARAMETERS));
  for (const [k] of params) if (!k) errs.push(fieldInvalid("parameters", k, "parameter names must not be empty"));
  if (sc.reclaimPolicy !== undefined && !CLASS_RECLAIM_POLICIES.includes(sc.reclaimPolicy)) errs.push(fieldNotSupported("reclaimPolicy", sc.reclaimPolicy, CLASS_RECLAIM_POLICIES));
  if (!sc.volumeBindingMode) errs.push(fieldRequired("volumeBindingMode"));
  else if (!BINDING_MODES.includes(sc.volumeBindingMode)) errs.push(fieldNotSupported("volumeBindingMode", sc.volumeBindingMode, BINDING_MODES));
  if (old) {
    if (!jsonEqual(sc.parameters ?? {}, old.parameters ?? {})) errs.push(fieldForbidden("parameters", "updates to parameters are forbidden."));
    if (sc.provisioner !== old.provisioner) errs.push(fieldForbidden("provisioner", "updates to provisioner are forbidden."));
    if (sc.reclaimPolicy !== old.reclaimPolicy) errs.push(fieldForbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."));
    if (sc.volumeBindingMode !== old.volumeBindingMode) errs.push(fieldInvalid("volumeBindingMode", sc.volumeBindingMode, "field is immutable"));
  }
  return errs;
}

/** The built-in default class made at server start unless --disable local-storage (k3s's local-path). */
export const LOCAL_PATH_STORAGE_CLASS: StorageClass = {
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: { name: LOCAL_PATH_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: "true" } },
  provisioner: LOCAL_PATH_PROVISIONER,
  reclaimPolicy: "Delete",
  volumeBindingMode: "WaitForFirstConsumer",
};

export const storageClasses: ResourceDef<StorageClass> = {
  ...KINDS.storageClasses,
  schema: StorageClassSchema,
  subresources: [],
  hasStatus: false,
  defaults(sc) {
    sc.reclaimPolicy ??= "Delete";
    sc.volumeBindingMode ??= "Immediate";
  },
  validate: validateStorageClass,
  table: {
    columns: [
      nameColumn,
      column("Provisioner", "provisioner indicates the type of the provisioner."),
      column("ReclaimPolicy", "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class."),
      column("VolumeBindingMode", "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound."),
      column("AllowVolumeExpansion", "allowVolumeExpansion shows whether the storage class allow volume expand.", 0, "boolean"),
      ageColumn,
    ],
    row: (sc, now) => [
      isDefaultClass(sc) ? `${sc.metadata.name} (default)` : sc.metadata.name,
      sc.provisioner,
      sc.reclaimPolicy ?? "",
      sc.volumeBindingMode ?? "",
      !!sc.allowVolumeExpansion,
      age(sc.metadata.creationTimestamp, now),
    ],
  },
};
