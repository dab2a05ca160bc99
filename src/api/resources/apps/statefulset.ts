// apps/v1 StatefulSet: pods with stable names (<set>-<ordinal>), stable per-pod DNS through a
// headless Service, and per-pod PersistentVolumeClaims made from volumeClaimTemplates.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { Doc, IntOrString, LabelSelectorSchema, Obj, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, isDns1123Label, validateLabelSelector } from "../../validation";
import {
  Conditions,
  containerCells,
  containersColumn,
  formatLabels,
  imagesColumn,
  Int32,
  Int64,
  isZeroIntOrPercent,
  jsonEqual,
  nonNegative,
  percentOver100,
  selectorIsEmpty,
  selectorMatches,
  WorkloadConditionSchema,
} from "../common";
import { defaultPersistentVolumeClaim, PersistentVolumeClaimSchema, validatePersistentVolumeClaimSpec } from "../core/persistentvolumeclaim";
import { PodTemplateSpecSchema, type PodTemplateSpec } from "../core/podspec.schema";
import { validatePodTemplate } from "../core/podspec.validate";
import { defaultTemplate, replicasScale } from "./workload";

const Opt = Type.Optional;

export const POD_MANAGEMENT_POLICIES = ["OrderedReady", "Parallel"];
export const RETENTION_POLICIES = ["Retain", "Delete"];

export const StatefulSetSpecSchema = Obj({
  replicas: Opt(Int32({ description: "The number of pods, named <set>-0 to <set>-(replicas-1) (default 1)." })),
  selector: Doc(LabelSelectorSchema, "The pods this set owns; must match the template's labels."),
  template: Doc(PodTemplateSpecSchema, "The pod each ordinal runs; its volumes may name a volumeClaimTemplate."),
  volumeClaimTemplates: Opt(Type.Array(PersistentVolumeClaimSchema, { "x-kubernetes-list-type": "atomic", description: "Claims made once per pod (<template>-<pod>) and kept with that ordinal." })),
  serviceName: Opt(Type.String({ description: "The headless Service that gives each pod a DNS name, <pod>.<serviceName>." })),
  podManagementPolicy: Opt(Type.String({ description: "OrderedReady (default): one pod at a time, in order; Parallel: all at once." })),
  updateStrategy: Opt(
    Obj({
      type: Opt(Type.String()),
      rollingUpdate: Opt(Obj({ partition: Opt(Int32()), maxUnavailable: Opt(IntOrString) }, { title: "RollingUpdateStatefulSetStrategy" })),
    }, { title: "StatefulSetUpdateStrategy", description: "How pods are replaced when the template changes: RollingUpdate (default), highest ordinal first, or OnDelete." }),
  ),
  revisionHistoryLimit: Opt(Int32({ description: "ControllerRevisions kept for rollback (default 10)." })),
  minReadySeconds: Opt(Int32({ description: "Seconds a pod must be ready before it counts as available." })),
  persistentVolumeClaimRetentionPolicy: Opt(Doc(Obj({ whenDeleted: Opt(Type.String()), whenScaled: Opt(Type.String()) }, { title: "StatefulSetPersistentVolumeClaimRetentionPolicy" }), "Whether the claims are kept (Retain, default) or deleted (Delete) when the set is deleted or scaled down.")),
  ordinals: Opt(Doc(Obj({ start: Opt(Int32()) }, { title: "StatefulSetOrdinals" }), "The number the first pod gets (default 0).")),
});

export const StatefulSetStatusSchema = Obj({
  observedGeneration: Opt(Int64()),
  replicas: Opt(Int32()),
  readyReplicas: Opt(Int32()),
  currentReplicas: Opt(Int32()),
  updatedReplicas: Opt(Int32()),
  currentRevision: Opt(Type.String()),
  updateRevision: Opt(Type.String()),
  collisionCount: Opt(Int32()),
  conditions: Opt(Conditions(WorkloadConditionSchema)),
  availableReplicas: Opt(Int32()),
});

export const StatefulSetSchema = TopLevel(
  { spec: Opt(StatefulSetSpecSchema), status: Opt(StatefulSetStatusSchema) },
  "StatefulSet represents a set of pods with consistent identities.",
);

export type StatefulSet = Static<typeof StatefulSetSchema> & KubeObject;
export type StatefulSetSpec = NonNullable<StatefulSet["spec"]>;
export type StatefulSetStatus = NonNullable<StatefulSet["status"]>;

/** SetDefaults_StatefulSet, with the defaults of the claim templates and the pod template. */
function defaultStatefulSet(sts: StatefulSet) {
  const spec = sts.spec;
  if (!spec) return;
  spec.podManagementPolicy ||= "OrderedReady";
  spec.updateStrategy ??= {};
  if (!spec.updateStrategy.type) {
    spec.updateStrategy.type = "RollingUpdate";
    spec.updateStrategy.rollingUpdate ??= {};
  }
  if (spec.updateStrategy.type === "RollingUpdate" && spec.updateStrategy.rollingUpdate) spec.updateStrategy.rollingUpdate.partition ??= 0;
  spec.persistentVolumeClaimRetentionPolicy ??= {};
  spec.persistentVolumeClaimRetentionPolicy.whenDeleted ||= "Retain";
  spec.persistentVolumeClaimRetentionPolicy.whenScaled ||= "Retain";
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  defaultTemplate(spec.template);
  // Claim templates always read back as v1 PersistentVolumeClaims (upstream's conversion sets
  // their apiVersion and kind, which protobuf does not carry).
  for (const claim of spec.volumeClaimTemplates ?? []) {
    claim.apiVersion = "v1";
    claim.kind = "PersistentVolumeClaim";
    if (claim.metadata?.creationTimestamp === null) delete claim.metadata.creationTimestamp;
    defaultPersistentVolumeClaim(claim);
  }
}

/** ValidateRollingUpdateStatefulSet: partition >= 0; maxUnavailable a positive int or percent up to 100%. */
function validateRollingUpdate(ru: NonNullable<NonNullable<StatefulSetSpec["updateStrategy"]>["rollingUpdate"]>, p: string): FieldError[] {
  const errs = nonNegative(ru.partition, `${p}.partition`);
  const mu = ru.maxUnavailable;
  if (mu === undefined) return errs;
  const path = `${p}.maxUnavailable`;
  if (typeof mu === "number") {
    if (mu < 0) errs.push(fieldInvalid(path, mu, "must be greater than or equal to 0"));
  } else if (!/^[0-9]+%$/.test(mu)) {
    errs.push(fieldInvalid(path, mu, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
  }
  if (isZeroIntOrPercent(mu)) errs.push(fieldInvalid(path, mu, "cannot be 0"));
  if (percentOver100(mu)) errs.push(fieldInvalid(path, mu, "must not be greater than 100%"));
  return errs;
}

/**
 * The pod template as each pod gets it: the claim templates become persistentVolumeClaim volumes
 * (replacing template volumes of the same name), so mounts of claim templates validate.
 */
function templateWithClaims(spec: StatefulSetSpec): PodTemplateSpec {
  const t = spec.template;
  const claims = (spec.volumeClaimTemplates ?? []).map((c) => c.metadata?.name ?? "").filter(Boolean);
  if (!t?.spec || !claims.length) return t;
  const volumes = [
    ...claims.map((name) => ({ name, persistentVolumeClaim: { claimName: name } })),
    ...(t.spec.volumes ?? []).filter((v) => !claims.includes(v.name)),
  ];
  return { ...t, spec: { ...t.spec, volumes } };
}

/** ValidateStatefulSetSpec (plus the pod spec and claim templates the pods will be made from). */
export function validateStatefulSetSpec(spec: StatefulSetSpec | undefined): FieldError[] {
  if (!spec) return [fieldRequired("spec")];
  const errs: FieldError[] = [];
  const pmp = spec.podManagementPolicy;
  if (!pmp) errs.push(fieldRequired("spec.podManagementPolicy"));
  else if (!POD_MANAGEMENT_POLICIES.includes(pmp)) errs.push(fieldInvalid("spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'"));

  const us = spec.updateStrategy;
  if (!us?.type) errs.push(fieldRequired("spec.updateStrategy"));
  else if (us.type === "OnDelete") {
    if (us.rollingUpdate) errs.push(fieldInvalid("spec.updateStrategy.rollingUpdate", us.rollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"));
  } else if (us.type === "RollingUpdate") {
    if (us.rollingUpdate) errs.push(...validateRollingUpdate(us.rollingUpdate, "spec.updateStrategy.rollingUpdate"));
  } else errs.push(fieldInvalid("spec.updateStrategy", us, "must be 'RollingUpdate' or 'OnDelete'"));

  const policy = spec.persistentVolumeClaimRetentionPolicy;
  for (const when of ["whenDeleted", "whenScaled"] as const) {
    const v = policy?.[when];
    if (policy && !RETENTION_POLICIES.includes(v ?? "")) errs.push(fieldNotSupported(`spec.persistentVolumeClaimRetentionPolicy.${when}`, v ?? "", RETENTION_POLICIES));
  }

  errs.push(...nonNegative(spec.replicas, "spec.replicas"));
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  errs.push(...nonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit"));
  if (spec.ordinals) errs.push(...nonNegative(spec.ordinals.start, "spec.ordinals.start"));

  if (!spec.selector) errs.push(fieldRequired("spec.selector"));
  else {
    errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
    if (selectorIsEmpty(spec.selector)) errs.push(fieldInvalid("spec.selector", spec.selector, "empty selector is invalid for statefulset"));
  }
  const t = spec.template;
  if (!t) errs.push(fieldRequired("spec.template"));
  else {
    const labels = t.metadata?.labels;
    if (spec.selector && !selectorIsEmpty(spec.selector) && !selectorMatches(spec.selector, labels))
      errs.push(fieldInvalid("spec.template.metadata.labels", formatLabels(labels), "`selector` does not match template `labels`"));
    // The workload check words activeDeadlineSeconds for ReplicaSets; StatefulSets say their own.
    const withClaims = templateWithClaims(spec);
    const { activeDeadlineSeconds, ...podSpec } = withClaims.spec ?? ({} as NonNullable<PodTemplateSpec["spec"]>);
    errs.push(...validatePodTemplate({ ...withClaims, spec: podSpec as NonNullable<PodTemplateSpec["spec"]> }, "spec.template", { restartPolicies: ["Always"] }));
    if (activeDeadlineSeconds !== undefined) errs.push(fieldForbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in StatefulSet is not Supported"));
  }

  const names = new Set<string>();
  (spec.volumeClaimTemplates ?? []).forEach((claim, i) => {
    const p = `spec.volumeClaimTemplates[${i}]`;
    const name = claim.metadata?.name;
    if (!name) errs.push(fieldRequired(`${p}.metadata.name`, "name or generateName is required"));
    else {
      for (const msg of isDns1123Label(name)) errs.push(fieldInvalid(`${p}.metadata.name`, name, msg));
      if (names.has(name)) errs.push({ field: `${p}.metadata.name`, type: "Duplicate", message: `Duplicate value: ${JSON.stringify(name)}` });
      names.add(name);
    }
    errs.push(...validatePersistentVolumeClaimSpec(claim.spec, `${p}.spec`));
  });
  return errs;
}

/** ValidateStatefulSetUpdate: only these spec fields may change. */
const MUTABLE_SPEC = ["replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"] as const;

function statefulSetImmutable(sts: StatefulSet, old: StatefulSet): FieldError[] {
  const strip = (spec: StatefulSetSpec | undefined) => {
    const rest: Record<string, unknown> = { ...(spec ?? {}) };
    for (const k of MUTABLE_SPEC) delete rest[k];
    return rest;
  };
  if (jsonEqual(strip(sts.spec), strip(old.spec))) return [];
  return [
    fieldForbidden(
      "spec",
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ];
}

/** ValidateStatefulSetStatus: non-negative counts, none above status.replicas. */
function validateStatus(st: StatefulSetStatus | undefined, old: StatefulSetStatus | undefined): FieldError[] {
  if (!st) return [];
  const errs: FieldError[] = [];
  for (const k of ["replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas", "observedGeneration", "collisionCount"] as const)
    errs.push(...nonNegative(st[k], `status.${k}`));
  const replicas = st.replicas ?? 0;
  for (const k of ["readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"] as const)
    if ((st[k] ?? 0) > replicas) errs.push(fieldInvalid(`status.${k}`, st[k], "cannot be greater than status.replicas"));
  if ((st.availableReplicas ?? 0) > (st.readyReplicas ?? 0)) errs.push(fieldInvalid("status.availableReplicas", st.availableReplicas, "cannot be greater than status.readyReplicas"));
  if (old?.collisionCount !== undefined && (st.collisionCount ?? 0) < old.collisionCount)
    errs.push(fieldInvalid("status.collisionCount", st.collisionCount ?? 0, "cannot be decremented"));
  return errs;
}

export const statefulSets: ResourceDef<StatefulSet> = {
  ...KINDS.statefulSets,
  schema: StatefulSetSchema,
  subresources: ["status", "scale"],
  hasStatus: true,
  defaults: defaultStatefulSet,
  validate: (sts, old) => [...validateStatefulSetSpec(sts.spec), ...validateStatus(sts.status, old?.status)],
  immutable: statefulSetImmutable,
  // Pod names are <set>-<ordinal> and pod hostnames must be DNS labels.
  nameValidator: isDns1123Label,
  scale: replicasScale,
  table: {
    columns: [nameColumn, column("Ready", "Number of the pod with ready state"), ageColumn, containersColumn, imagesColumn],
    row(sts, now) {
      const [names, images] = containerCells(sts.spec?.template?.spec?.containers);
      return [sts.metadata.name, `${sts.status?.readyReplicas ?? 0}/${sts.spec?.replicas ?? 0}`, age(sts.metadata.creationTimestamp, now), names, images];
    },
  },
};
