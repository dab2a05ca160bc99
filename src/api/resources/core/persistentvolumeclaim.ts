// v1 PersistentVolumeClaim: a request for storage (made by users, or by the StatefulSet controller
// per volumeClaimTemplate and ordinal). The persistent-volume controller binds it to a
// PersistentVolume (spec.volumeName) or has one provisioned; until then it is Pending, and so is
// a pod that uses it.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import { compareQuantities, tryParseQuantity } from "../../quantity";
import type { ResourceDef } from "../../resource";
import { Doc, LabelSelectorSchema, Obj, Quantity, StringMap, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, isDns1123Subdomain, validateLabelSelector } from "../../validation";
import { Conditions, jsonEqual, NullableTime, QUANTITY_MESSAGE } from "../common";

const Opt = Type.Optional;
const Str = () => Type.String();
const QuantityMap = Type.Record(Type.String(), Quantity);

export const ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"];
const VOLUME_MODES = ["Block", "Filesystem"];
/** The annotation older clients use instead of spec.storageClassName. */
export const BETA_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class";

export const PersistentVolumeClaimSpecSchema = Obj({
  accessModes: Opt(Type.Array(Str(), { "x-kubernetes-list-type": "atomic", description: "How the volume may be mounted: ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod." })),
  selector: Opt(Doc(LabelSelectorSchema, "Labels an existing volume must carry to be bound to this claim.")),
  resources: Opt(Doc(Obj({ limits: Opt(QuantityMap), requests: Opt(QuantityMap) }, { title: "VolumeResourceRequirements" }), "The storage asked for: requests.storage is the least size the volume must have.")),
  volumeName: Opt(Type.String({ description: "The PersistentVolume bound to this claim." })),
  storageClassName: Opt(Type.String({ description: "The StorageClass to provision from; \"\" asks for a volume without a class, unset for the default class." })),
  volumeMode: Opt(Type.String({ description: "Filesystem (default) or Block." })),
  dataSource: Opt(Doc(Obj({ apiGroup: Opt(Str()), kind: Str(), name: Str() }, { title: "TypedLocalObjectReference" }), "An object to fill the new volume from: a VolumeSnapshot or another claim.")),
  dataSourceRef: Opt(Doc(Obj({ apiGroup: Opt(Str()), kind: Str(), name: Str(), namespace: Opt(Str()) }, { title: "TypedObjectReference" }), "Like dataSource, and may name any populator's object.")),
  volumeAttributesClassName: Opt(Type.String({ description: "The VolumeAttributesClass of the volume." })),
});

export const PersistentVolumeClaimConditionSchema = Obj({
  type: Str(),
  status: Str(),
  lastProbeTime: Opt(NullableTime),
  lastTransitionTime: Opt(NullableTime),
  reason: Opt(Str()),
  message: Opt(Str()),
}, { title: "PersistentVolumeClaimCondition" });

export const PersistentVolumeClaimStatusSchema = Obj({
  phase: Opt(Str()),
  accessModes: Opt(Type.Array(Str(), { "x-kubernetes-list-type": "atomic" })),
  capacity: Opt(QuantityMap),
  conditions: Opt(Conditions(PersistentVolumeClaimConditionSchema)),
  allocatedResources: Opt(QuantityMap),
  allocatedResourceStatuses: Opt(StringMap),
  currentVolumeAttributesClassName: Opt(Str()),
  modifyVolumeStatus: Opt(Obj({ targetVolumeAttributesClassName: Opt(Str()), status: Str() }, { title: "ModifyVolumeStatus" })),
});

export const PersistentVolumeClaimSchema = TopLevel(
  { spec: Opt(PersistentVolumeClaimSpecSchema), status: Opt(PersistentVolumeClaimStatusSchema) },
  "PersistentVolumeClaim is a user's request for and claim to a persistent volume",
);

export type PersistentVolumeClaim = Static<typeof PersistentVolumeClaimSchema> & KubeObject;
export type PersistentVolumeClaimSpec = Static<typeof PersistentVolumeClaimSpecSchema>;

/** SetDefaults_PersistentVolumeClaim(Spec): a filesystem volume, and Pending until bound. */
export function defaultPersistentVolumeClaim(pvc: { spec?: PersistentVolumeClaimSpec; status?: PersistentVolumeClaim["status"] }) {
  if (pvc.spec) pvc.spec.volumeMode ??= "Filesystem";
  pvc.status ??= {};
  pvc.status.phase ||= "Pending";
}

const STORAGE_PATH = (path: string) => `${path}.resources[storage]`;

/** ValidatePersistentVolumeClaimSpec: access modes, a positive storage request, the class and mode. */
export function validatePersistentVolumeClaimSpec(spec: PersistentVolumeClaimSpec | undefined, path: string): FieldError[] {
  if (!spec) return [fieldRequired(path)];
  const errs: FieldError[] = [];
  const modes = spec.accessModes ?? [];
  if (modes.length === 0) errs.push(fieldRequired(`${path}.accessModes`, "at least 1 access mode is required"));
  for (const m of modes) if (!ACCESS_MODES.includes(m)) errs.push(fieldNotSupported(`${path}.accessModes`, m, ACCESS_MODES));
  if (modes.includes("ReadWriteOncePod") && modes.length > 1)
    errs.push(fieldForbidden(`${path}.accessModes`, "may not use ReadWriteOncePod with other access modes"));
  if (spec.selector) errs.push(...validateLabelSelector(spec.selector, `${path}.selector`));
  const storage = spec.resources?.requests?.storage;
  if (storage === undefined) errs.push(fieldRequired(STORAGE_PATH(path)));
  else {
    const q = tryParseQuantity(storage);
    if (!q) errs.push(fieldInvalid(STORAGE_PATH(path), storage, QUANTITY_MESSAGE));
    else if (q.nano <= 0n) errs.push(fieldInvalid(STORAGE_PATH(path), storage, "must be greater than zero"));
  }
  for (const [bag, quantities] of [["requests", spec.resources?.requests], ["limits", spec.resources?.limits]] as const)
    for (const [name, v] of Object.entries(quantities ?? {}))
      if (name !== "storage" || bag === "limits") {
        const q = tryParseQuantity(v);
        if (!q) errs.push(fieldInvalid(`${path}.resources.${bag}[${name}]`, v, QUANTITY_MESSAGE));
        else if (q.nano < 0n) errs.push(fieldInvalid(`${path}.resources.${bag}[${name}]`, v, "must be greater than or equal to 0"));
      }
  if (spec.storageClassName) for (const msg of isDns1123Subdomain(spec.storageClassName)) errs.push(fieldInvalid(`${path}.storageClassName`, spec.storageClassName, msg));
  if (spec.volumeMode !== undefined && !VOLUME_MODES.includes(spec.volumeMode)) errs.push(fieldNotSupported(`${path}.volumeMode`, spec.volumeMode, VOLUME_MODES));
  for (const [field, ref] of [["dataSource", spec.dataSource], ["dataSourceRef", spec.dataSourceRef]] as const) {
    if (!ref) continue;
    if (!ref.name) errs.push(fieldRequired(`${path}.${field}.name`));
    if (!ref.kind) errs.push(fieldRequired(`${path}.${field}.kind`));
  }
  if (spec.volumeAttributesClassName !== undefined && spec.volumeAttributesClassName !== "")
    for (const msg of isDns1123Subdomain(spec.volumeAttributesClassName)) errs.push(fieldInvalid(`${path}.volumeAttributesClassName`, spec.volumeAttributesClassName, msg));
  return errs;
}

/**
 * ValidatePersistentVolumeClaimUpdate: the spec is fixed at creation except a volumeName set
 * once (binding), a storage class set where there was none, a bigger storage request on a bound
 * claim, and the volume attributes class.
 */
function pvcImmutable(pvc: PersistentVolumeClaim, old: PersistentVolumeClaim): FieldError[] {
  const next = structuredClone(pvc.spec ?? {});
  const prev = structuredClone(old.spec ?? {});
  if (!prev.volumeName) prev.volumeName = next.volumeName;
  if (prev.storageClassName === undefined && !old.metadata.annotations?.[BETA_STORAGE_CLASS_ANNOTATION]) prev.storageClassName = next.storageClassName;
  prev.volumeAttributesClassName = next.volumeAttributesClassName;
  const errs: FieldError[] = [];
  const oldSize = tryParseQuantity(old.spec?.resources?.requests?.storage);
  const newSize = tryParseQuantity(pvc.spec?.resources?.requests?.storage);
  if (pvc.status?.phase === "Bound" && next.resources?.requests && prev.resources?.requests) next.resources.requests.storage = prev.resources.requests.storage;
  if (!jsonEqual(next, prev)) errs.push(fieldForbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"));
  if (oldSize && newSize && compareQuantities(newSize, oldSize) < 0)
    errs.push(fieldForbidden("spec.resources.requests.storage", "field can not be less than previous value"));
  if ((pvc.metadata.annotations?.[BETA_STORAGE_CLASS_ANNOTATION] ?? "") !== (old.metadata.annotations?.[BETA_STORAGE_CLASS_ANNOTATION] ?? ""))
    errs.push(fieldForbidden(`metadata.annotations[${BETA_STORAGE_CLASS_ANNOTATION}]`, "field is immutable"));
  return errs;
}

const MODE_SHORT: [string, string][] = [["ReadWriteOnce", "RWO"], ["ReadOnlyMany", "ROX"], ["ReadWriteMany", "RWX"], ["ReadWriteOncePod", "RWOP"]];

/** upstream's GetAccessModesAsString: the short forms in a fixed order. */
export const accessModesString = (modes: string[] | undefined) =>
  MODE_SHORT.filter(([m]) => modes?.includes(m))
    .map(([, s]) => s)
    .join(",");

/** upstream's GetPersistentVolumeClaimClass: the beta annotation wins over spec.storageClassName. */
const claimClass = (pvc: PersistentVolumeClaim) => pvc.metadata.annotations?.[BETA_STORAGE_CLASS_ANNOTATION] ?? pvc.spec?.storageClassName ?? "";

export const persistentVolumeClaims: ResourceDef<PersistentVolumeClaim> = {
  ...KINDS.persistentVolumeClaims,
  schema: PersistentVolumeClaimSchema,
  subresources: ["status"],
  hasStatus: true,
  defaults: defaultPersistentVolumeClaim,
  validate: (pvc) => validatePersistentVolumeClaimSpec(pvc.spec, "spec"),
  immutable: pvcImmutable,
  table: {
    columns: [
      nameColumn,
      column("Status", "phase represents the current phase of PersistentVolumeClaim."),
      column("Volume", "volumeName is the binding reference to the PersistentVolume backing this claim."),
      column("Capacity", "capacity represents the actual resources of the underlying volume."),
      column("Access Modes", "accessModes contains the actual access modes the volume backing the PVC has."),
      column("StorageClass", "StorageClass of the pvc"),
      column("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
      ageColumn,
      column("VolumeMode", "volumeMode defines what type of volume is required by the claim.", 1),
    ],
    row(pvc, now) {
      const bound = !!pvc.spec?.volumeName;
      const capacity = bound ? pvc.status?.capacity?.storage : undefined;
      return [
        pvc.metadata.name,
        pvc.metadata.deletionTimestamp ? "Terminating" : (pvc.status?.phase ?? ""),
        pvc.spec?.volumeName ?? "",
        capacity === undefined ? "" : String(capacity),
        bound ? accessModesString(pvc.status?.accessModes) : "",
        claimClass(pvc),
        pvc.spec?.volumeAttributesClassName || "<unset>",
        age(pvc.metadata.creationTimestamp, now),
        pvc.spec?.volumeMode ?? "<unset>",
      ];
    },
  },
};
