// v1 PersistentVolume: a piece of storage in the cluster (cluster-scoped). An administrator makes
// one by hand, or a provisioner makes one for a claim; the persistent-volume controller binds
// volumes to claims (spec.claimRef ↔ the claim's spec.volumeName) and moves status.phase through
// Pending → Available → Bound → Released (or Failed). bramble mounts hostPath, local and nfs
// volumes; other sources are stored as upstream's but not mounted.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import { tryParseQuantity } from "../../quantity";
import type { ResourceDef } from "../../resource";
import { Obj, Quantity, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, isDns1123Subdomain } from "../../validation";
import { jsonEqual, NullableTime, ObjectReferenceSchema, QUANTITY_MESSAGE } from "../common";
import { NodeSelectorTermSchema } from "./podspec.schema";
import { validateNodeSelectorTerm } from "./podspec.validate";
import { ACCESS_MODES, accessModesString } from "./persistentvolumeclaim";

const Opt = Type.Optional;
const Str = () => Type.String();

export const RECLAIM_POLICIES = ["Delete", "Recycle", "Retain"];
const VOLUME_MODES = ["Block", "Filesystem"];
const HOST_PATH_TYPES = ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"];

export const NodeSelectorSchema = Obj({ nodeSelectorTerms: Type.Array(NodeSelectorTermSchema) });

/** The volume sources bramble knows; a volume names exactly one. */
export const PV_SOURCES = ["hostPath", "nfs", "local"] as const;

export const PersistentVolumeSpecSchema = Obj({
  capacity: Opt(Type.Record(Str(), Quantity)),
  hostPath: Opt(Obj({ path: Str(), type: Opt(Str()) })),
  nfs: Opt(Obj({ server: Str(), path: Str(), readOnly: Opt(Type.Boolean()) })),
  local: Opt(Obj({ path: Str(), fsType: Opt(Str()) })),
  accessModes: Opt(Type.Array(Str(), { "x-kubernetes-list-type": "atomic" })),
  claimRef: Opt(ObjectReferenceSchema),
  persistentVolumeReclaimPolicy: Opt(Str()),
  storageClassName: Opt(Str()),
  mountOptions: Opt(Type.Array(Str(), { "x-kubernetes-list-type": "atomic" })),
  volumeMode: Opt(Str()),
  nodeAffinity: Opt(Obj({ required: Opt(NodeSelectorSchema) })),
  volumeAttributesClassName: Opt(Str()),
});

export const PersistentVolumeStatusSchema = Obj({
  phase: Opt(Str()),
  message: Opt(Str()),
  reason: Opt(Str()),
  lastPhaseTransitionTime: Opt(NullableTime),
});

export const PersistentVolumeSchema = TopLevel(
  { spec: Opt(PersistentVolumeSpecSchema), status: Opt(PersistentVolumeStatusSchema) },
  "PersistentVolume (PV) is a storage resource provisioned by an administrator. It is analogous to a node.",
);

export type PersistentVolume = Static<typeof PersistentVolumeSchema> & KubeObject;
export type PersistentVolumeSpec = Static<typeof PersistentVolumeSpecSchema>;

/** SetDefaults_PersistentVolume: Pending, Retain, a filesystem volume. */
export function defaultPersistentVolume(pv: PersistentVolume) {
  pv.spec ??= {};
  pv.spec.persistentVolumeReclaimPolicy ??= "Retain";
  pv.spec.volumeMode ??= "Filesystem";
  pv.status ??= {};
  pv.status.phase ||= "Pending";
}

const hasBacksteps = (p: string) => p.split("/").includes("..");

function validateAbsolutePath(p: string, field: string): FieldError[] {
  if (!p) return [fieldRequired(field)];
  const errs: FieldError[] = [];
  if (!p.startsWith("/")) errs.push(fieldInvalid(field, p, "must be an absolute path"));
  if (hasBacksteps(p)) errs.push(fieldInvalid(field, p, "must not contain '..'"));
  return errs;
}

/** ValidatePersistentVolumeSpec, for the sources bramble knows. */
export function validatePersistentVolume(pv: PersistentVolume): FieldError[] {
  const errs: FieldError[] = [];
  const spec = pv.spec ?? {};
  const modes = spec.accessModes ?? [];
  if (modes.length === 0) errs.push(fieldRequired("spec.accessModes", "must specify at least 1 access mode"));
  for (const m of modes) if (!ACCESS_MODES.includes(m)) errs.push(fieldNotSupported("spec.accessModes", m, ACCESS_MODES));
  if (modes.includes("ReadWriteOncePod") && modes.length > 1) errs.push(fieldForbidden("spec.accessModes", "may not use ReadWriteOncePod with other access modes"));
  if (spec.storageClassName) for (const msg of isDns1123Subdomain(spec.storageClassName)) errs.push(fieldInvalid("spec.storageClassName", spec.storageClassName, msg));
  const capacity = spec.capacity ?? {};
  const keys = Object.keys(capacity);
  if (keys.length === 0) errs.push(fieldRequired("spec.capacity"));
  else if (!keys.includes("storage") || keys.length > 1) errs.push(fieldNotSupported("spec.capacity", capacity, ["storage"]));
  for (const [name, v] of Object.entries(capacity)) {
    const q = tryParseQuantity(v);
    if (!q) errs.push(fieldInvalid(`spec.capacity[${name}]`, v, QUANTITY_MESSAGE));
    else if (q.nano <= 0n) errs.push(fieldInvalid(`spec.capacity[${name}]`, v, "must be greater than zero"));
  }
  const policy = spec.persistentVolumeReclaimPolicy;
  if (policy !== undefined && !RECLAIM_POLICIES.includes(policy)) errs.push(fieldNotSupported("spec.persistentVolumeReclaimPolicy", policy, RECLAIM_POLICIES));
  if (spec.volumeMode !== undefined && !VOLUME_MODES.includes(spec.volumeMode)) errs.push(fieldNotSupported("spec.volumeMode", spec.volumeMode, VOLUME_MODES));
  if (spec.claimRef && !spec.claimRef.name) errs.push(fieldRequired("spec.claimRef.name"));

  const set = PV_SOURCES.filter((k) => spec[k] != null);
  if (set.length === 0) errs.push(fieldRequired("spec", "must specify a volume type"));
  for (const extra of set.slice(1)) errs.push(fieldForbidden(`spec.${extra}`, "may not specify more than 1 volume type"));
  if (spec.hostPath) {
    if (!spec.hostPath.path) errs.push(fieldRequired("spec.hostPath.path"));
    else if (hasBacksteps(spec.hostPath.path)) errs.push(fieldInvalid("spec.hostPath.path", spec.hostPath.path, "must not contain '..'"));
    if (spec.hostPath.type !== undefined && !HOST_PATH_TYPES.includes(spec.hostPath.type)) errs.push(fieldNotSupported("spec.hostPath.type", spec.hostPath.type, HOST_PATH_TYPES));
    if (spec.hostPath.path === "/" && policy === "Recycle") errs.push(fieldForbidden("spec.persistentVolumeReclaimPolicy", "may not be 'recycle' for a hostPath mount of '/'"));
  }
  if (spec.local) {
    errs.push(...validateAbsolutePath(spec.local.path, "spec.local.path"));
    if (!spec.nodeAffinity) errs.push(fieldRequired("spec.nodeAffinity", "Local volume requires node affinity"));
  }
  if (spec.nfs) {
    if (!spec.nfs.server) errs.push(fieldRequired("spec.nfs.server"));
    errs.push(...validateAbsolutePath(spec.nfs.path, "spec.nfs.path"));
  }
  if (spec.mountOptions?.length && !spec.nfs) errs.push(fieldForbidden("spec.mountOptions", "may not specify mount options for this volume type"));
  if (spec.nodeAffinity) {
    const required = spec.nodeAffinity.required;
    if (!required) errs.push(fieldRequired("spec.nodeAffinity.required", "must specify required node constraints"));
    else {
      const p = "spec.nodeAffinity.required.nodeSelectorTerms";
      if (!required.nodeSelectorTerms?.length) errs.push(fieldRequired(p, "must have at least one node selector term"));
      required.nodeSelectorTerms?.forEach((t, i) => errs.push(...validateNodeSelectorTerm(t, `${p}[${i}]`)));
    }
  }
  if (spec.volumeAttributesClassName !== undefined) {
    if (!spec.volumeAttributesClassName) errs.push(fieldRequired("spec.volumeAttributesClassName", "an empty string is disallowed"));
    else for (const msg of isDns1123Subdomain(spec.volumeAttributesClassName)) errs.push(fieldInvalid("spec.volumeAttributesClassName", spec.volumeAttributesClassName, msg));
  }
  return errs;
}

const sourceOf = (spec: PersistentVolumeSpec | undefined) => Object.fromEntries(PV_SOURCES.map((k) => [k, spec?.[k]]));

/** ValidatePersistentVolumeUpdate: the source is fixed, so are the volume mode and a node affinity once set. */
function pvImmutable(pv: PersistentVolume, old: PersistentVolume): FieldError[] {
  const errs: FieldError[] = [];
  if (!jsonEqual(sourceOf(pv.spec), sourceOf(old.spec))) errs.push(fieldForbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after creation"));
  if (pv.spec?.volumeMode !== old.spec?.volumeMode) errs.push(fieldInvalid("spec.volumeMode", pv.spec?.volumeMode, "field is immutable"));
  if (old.spec?.nodeAffinity && !jsonEqual(pv.spec?.nodeAffinity, old.spec.nodeAffinity)) errs.push(fieldInvalid("spec.nodeAffinity", pv.spec?.nodeAffinity, "field is immutable"));
  return errs;
}

export const persistentVolumes: ResourceDef<PersistentVolume> = {
  ...KINDS.persistentVolumes,
  schema: PersistentVolumeSchema,
  subresources: ["status"],
  hasStatus: true,
  defaults: defaultPersistentVolume,
  validate: (pv) => validatePersistentVolume(pv),
  immutable: pvImmutable,
  table: {
    columns: [
      nameColumn,
      column("Capacity", "capacity is the description of the persistent volume's resources and capacity."),
      column("Access Modes", "accessModes contains all ways the volume can be mounted."),
      column("Reclaim Policy", "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim."),
      column("Status", "phase indicates if a volume is available, bound to a claim, or released by a claim."),
      column("Claim", "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim."),
      column("StorageClass", "storageClassName is the name of StorageClass to which this persistent volume belongs."),
      column("VolumeAttributesClass", "Name of VolumeAttributesClass to which this persistent volume belongs."),
      column("Reason", "reason is a brief CamelCase string that describes any failure."),
      ageColumn,
      column("VolumeMode", "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.", 1),
    ],
    row(pv, now) {
      const ref = pv.spec?.claimRef;
      return [
        pv.metadata.name,
        String(pv.spec?.capacity?.storage ?? ""),
        accessModesString(pv.spec?.accessModes),
        pv.spec?.persistentVolumeReclaimPolicy ?? "",
        pv.metadata.deletionTimestamp ? "Terminating" : (pv.status?.phase ?? ""),
        ref ? `${ref.namespace ?? ""}/${ref.name ?? ""}` : "",
        pv.spec?.storageClassName ?? "",
        pv.spec?.volumeAttributesClassName || "<unset>",
        pv.status?.reason ?? "",
        age(pv.metadata.creationTimestamp, now),
        pv.spec?.volumeMode ?? "<unset>",
      ];
    },
  },
};
