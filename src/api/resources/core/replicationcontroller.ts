// core/v1 ReplicationController: the ReplicaSet's predecessor, with a plain label map for a
// selector. Kept for the manifests and tools that still use it; the ReplicaSet controller runs it.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { Doc, Obj, StringMap, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldInvalid, fieldRequired, validateLabels } from "../../validation";
import { Conditions, containerCells, containersColumn, formatLabels, imagesColumn, Int32, Int64, nonNegative, selectorColumn, WorkloadConditionSchema } from "../common";
import { defaultTemplate } from "../apps/workload";
import { PodTemplateSpecSchema } from "./podspec.schema";
import { validatePodTemplate } from "./podspec.validate";

const Opt = Type.Optional;

export const ReplicationControllerSpecSchema = Obj({
  replicas: Opt(Int32({ description: "The number of pods to keep running (default 1)." })),
  minReadySeconds: Opt(Int32({ description: "Seconds a pod must be ready before it counts as available." })),
  selector: Opt(Doc(StringMap, "Labels of the pods this controller counts; the template's labels if unset.")),
  template: Opt(Doc(PodTemplateSpecSchema, "The pod to create when there are too few.")),
});

export const ReplicationControllerStatusSchema = Obj({
  replicas: Opt(Int32()),
  fullyLabeledReplicas: Opt(Int32()),
  readyReplicas: Opt(Int32()),
  availableReplicas: Opt(Int32()),
  observedGeneration: Opt(Int64()),
  conditions: Opt(Conditions(WorkloadConditionSchema)),
});

export const ReplicationControllerSchema = TopLevel(
  { spec: Opt(ReplicationControllerSpecSchema), status: Opt(ReplicationControllerStatusSchema) },
  "ReplicationController represents the configuration of a replication controller.",
);

export type ReplicationController = Static<typeof ReplicationControllerSchema> & KubeObject;

const isEmpty = (m: Record<string, string> | undefined) => !m || Object.keys(m).length === 0;

/** upstream's SetDefaults_ReplicationController: selector and labels from the template's labels, one replica. */
function defaultReplicationController(rc: ReplicationController) {
  rc.spec ??= {};
  const labels = rc.spec.template?.metadata?.labels;
  if (labels && !isEmpty(labels)) {
    if (isEmpty(rc.spec.selector)) rc.spec.selector = { ...labels };
    if (isEmpty(rc.metadata.labels)) rc.metadata.labels = { ...labels };
  }
  rc.spec.replicas ??= 1;
  defaultTemplate(rc.spec.template);
  rc.status ??= {};
  rc.status.replicas ??= 0;
}

/** upstream's ValidateReplicationControllerSpec. The selector, unlike a ReplicaSet's, may change. */
function validateReplicationController(rc: ReplicationController): FieldError[] {
  const spec = rc.spec ?? {};
  const errs: FieldError[] = [];
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  if (isEmpty(spec.selector)) errs.push(fieldRequired("spec.selector"));
  else errs.push(...validateLabels(spec.selector, "spec.selector"));
  errs.push(...nonNegative(spec.replicas, "spec.replicas"));
  if (!spec.template) errs.push(fieldRequired("spec.template"));
  else {
    const labels = spec.template.metadata?.labels ?? {};
    if (!isEmpty(spec.selector) && Object.entries(spec.selector!).some(([k, v]) => labels[k] !== v))
      errs.push(fieldInvalid("spec.template.metadata.labels", formatLabels(spec.template.metadata?.labels), "`selector` does not match template `labels`"));
    errs.push(...validatePodTemplate(spec.template, "spec.template", { restartPolicies: ["Always"], kind: "ReplicationController" }));
  }
  return errs;
}

/** labels.SelectorFromSet(selector).String(): "a=b,c=d" by key. */
const selectorString = (sel: Record<string, string> | undefined) =>
  Object.keys(sel ?? {})
    .sort()
    .map((k) => `${k}=${sel![k]}`)
    .join(",");

export const replicationControllers: ResourceDef<ReplicationController> = {
  ...KINDS.replicationControllers,
  schema: ReplicationControllerSchema,
  subresources: ["status", "scale"],
  hasStatus: true,
  defaults: defaultReplicationController,
  validate: validateReplicationController,
  scale: {
    specReplicas: (o) => (o as ReplicationController).spec?.replicas ?? 0,
    statusReplicas: (o) => (o as ReplicationController).status?.replicas ?? 0,
    selector: (o) => selectorString((o as ReplicationController).spec?.selector),
    setSpecReplicas(o, n) {
      ((o as ReplicationController).spec ??= {}).replicas = n;
    },
  },
  table: {
    columns: [
      nameColumn,
      column("Desired", "Replicas is the number of desired replicas.", 0, "integer"),
      column("Current", "Replicas is the most recently observed number of replicas.", 0, "integer"),
      column("Ready", "The number of ready replicas for this replication controller.", 0, "integer"),
      ageColumn,
      containersColumn,
      imagesColumn,
      selectorColumn("Selector is a label query over pods that should match the Replicas count."),
    ],
    row(rc, now) {
      const [names, images] = containerCells(rc.spec?.template?.spec?.containers);
      return [
        rc.metadata.name,
        rc.spec?.replicas ?? 0,
        rc.status?.replicas ?? 0,
        rc.status?.readyReplicas ?? 0,
        age(rc.metadata.creationTimestamp, now),
        names,
        images,
        formatLabels(rc.spec?.selector),
      ];
    },
  },
};
