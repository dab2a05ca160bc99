import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { IntOrString, LabelSelectorSchema, Obj, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldForbidden, fieldInvalid, fieldNotSupported } from "../../validation";
import {
  Conditions,
  containerCells,
  DeploymentConditionSchema,
  containersColumn,
  imagesColumn,
  Int32,
  Int64,
  isZeroIntOrPercent,
  labelSelectorString,
  nonNegative,
  percentOver100,
  selectorColumn,
  validateIntOrPercent,
} from "../common";
import { PodTemplateSpecSchema } from "../core/podspec.schema";
import { defaultTemplate, replicasScale, selectorImmutable, validateWorkload } from "./workload";

const Opt = Type.Optional;

export const DeploymentSpecSchema = Obj({
  replicas: Opt(Int32()),
  selector: LabelSelectorSchema,
  template: PodTemplateSpecSchema,
  strategy: Opt(
    Obj({
      type: Opt(Type.String()),
      rollingUpdate: Opt(Obj({ maxUnavailable: Opt(IntOrString), maxSurge: Opt(IntOrString) })),
    },
    // As upstream: `kubectl apply` switching to Recreate must drop the defaulted rollingUpdate.
    { "x-kubernetes-patch-strategy": "retainKeys" }),
  ),
  minReadySeconds: Opt(Int32()),
  revisionHistoryLimit: Opt(Int32()),
  paused: Opt(Type.Boolean()),
  progressDeadlineSeconds: Opt(Int32()),
});

export const DeploymentStatusSchema = Obj({
  observedGeneration: Opt(Int64()),
  replicas: Opt(Int32()),
  updatedReplicas: Opt(Int32()),
  readyReplicas: Opt(Int32()),
  availableReplicas: Opt(Int32()),
  unavailableReplicas: Opt(Int32()),
  terminatingReplicas: Opt(Int32()),
  conditions: Opt(Conditions(DeploymentConditionSchema)),
  collisionCount: Opt(Int32()),
});

export const DeploymentSchema = TopLevel(
  { spec: Opt(DeploymentSpecSchema), status: Opt(DeploymentStatusSchema) },
  "Deployment enables declarative updates for Pods and ReplicaSets.",
);

export type Deployment = Static<typeof DeploymentSchema> & KubeObject;

function defaultDeployment(d: Deployment) {
  if (!d.spec) return;
  const spec = d.spec;
  spec.replicas ??= 1;
  spec.strategy ??= {};
  spec.strategy.type ??= "RollingUpdate";
  if (spec.strategy.type === "RollingUpdate") {
    spec.strategy.rollingUpdate ??= {};
    spec.strategy.rollingUpdate.maxUnavailable ??= "25%";
    spec.strategy.rollingUpdate.maxSurge ??= "25%";
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  defaultTemplate(spec.template);
}

function validateDeployment(d: Deployment): FieldError[] {
  const spec = d.spec;
  const errs = validateWorkload(spec, "deployment");
  if (!spec) return errs;
  const strategy = spec.strategy;
  if (strategy?.type !== undefined && !["Recreate", "RollingUpdate"].includes(strategy.type))
    errs.push(fieldNotSupported("spec.strategy.type", strategy.type, ["Recreate", "RollingUpdate"]));
  if (strategy?.type === "Recreate" && strategy.rollingUpdate)
    errs.push(fieldForbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"));
  const ru = strategy?.rollingUpdate;
  if (ru) {
    const p = "spec.strategy.rollingUpdate";
    errs.push(...validateIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
    errs.push(...validateIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
    if (isZeroIntOrPercent(ru.maxUnavailable) && isZeroIntOrPercent(ru.maxSurge))
      errs.push(fieldInvalid(`${p}.maxUnavailable`, ru.maxUnavailable, "may not be 0 when `maxSurge` is 0"));
    if (percentOver100(ru.maxUnavailable))
      errs.push(fieldInvalid(`${p}.maxUnavailable`, ru.maxUnavailable, "must not be greater than 100%"));
  }
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  errs.push(...nonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit"));
  if (spec.progressDeadlineSeconds !== undefined) {
    errs.push(...nonNegative(spec.progressDeadlineSeconds, "spec.progressDeadlineSeconds"));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0))
      errs.push(fieldInvalid("spec.progressDeadlineSeconds", spec.progressDeadlineSeconds, "must be greater than minReadySeconds"));
  }
  return errs;
}

export const deployments: ResourceDef<Deployment> = {
  ...KINDS.deployments,
  schema: DeploymentSchema,
  subresources: ["status", "scale"],
  hasStatus: true,
  defaults: defaultDeployment,
  validate: validateDeployment,
  immutable: (d, old) => selectorImmutable(d.spec, old.spec),
  scale: replicasScale,
  table: {
    columns: [
      nameColumn,
      column("Ready", "Number of the pod with ready state"),
      column("Up-to-date", "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
      column("Available", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
      ageColumn,
      containersColumn,
      imagesColumn,
      selectorColumn("Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."),
    ],
    row(d, now) {
      const [names, images] = containerCells(d.spec?.template?.spec?.containers);
      return [
        d.metadata.name,
        `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`,
        d.status?.updatedReplicas ?? 0,
        d.status?.availableReplicas ?? 0,
        age(d.metadata.creationTimestamp, now),
        names,
        images,
        labelSelectorString(d.spec?.selector),
      ];
    },
  },
};
