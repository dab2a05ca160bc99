import { Type, type Static } from "@sinclair/typebox";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { LabelSelectorSchema, Obj, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import {
  Conditions,
  containerCells,
  containersColumn,
  imagesColumn,
  Int32,
  Int64,
  labelSelectorString,
  nonNegative,
  selectorColumn,
  WorkloadConditionSchema,
} from "../common";
import { PodTemplateSpecSchema } from "../core/podspec.schema";
import { defaultTemplate, replicasScale, selectorImmutable, validateWorkload } from "./workload";

const Opt = Type.Optional;

export const ReplicaSetSpecSchema = Obj({
  replicas: Opt(Int32()),
  minReadySeconds: Opt(Int32()),
  selector: LabelSelectorSchema,
  template: Opt(PodTemplateSpecSchema),
});

export const ReplicaSetStatusSchema = Obj({
  replicas: Opt(Int32()),
  fullyLabeledReplicas: Opt(Int32()),
  readyReplicas: Opt(Int32()),
  availableReplicas: Opt(Int32()),
  terminatingReplicas: Opt(Int32()),
  observedGeneration: Opt(Int64()),
  conditions: Opt(Conditions(WorkloadConditionSchema)),
});

export const ReplicaSetSchema = TopLevel(
  { spec: Opt(ReplicaSetSpecSchema), status: Opt(ReplicaSetStatusSchema) },
  "ReplicaSet ensures that a specified number of pod replicas are running at any given time.",
);

export type ReplicaSet = Static<typeof ReplicaSetSchema> & KubeObject;

export const replicaSets: ResourceDef<ReplicaSet> = {
  ...KINDS.replicaSets,
  schema: ReplicaSetSchema,
  subresources: ["status", "scale"],
  hasStatus: true,
  defaults(rs) {
    if (!rs.spec) return;
    rs.spec.replicas ??= 1;
    defaultTemplate(rs.spec.template);
    rs.status ??= {};
    rs.status.replicas ??= 0;
  },
  validate(rs) {
    const errs = validateWorkload(rs.spec, "replicaset");
    errs.push(...nonNegative(rs.spec?.minReadySeconds, "spec.minReadySeconds"));
    return errs;
  },
  immutable: (rs, old) => selectorImmutable(rs.spec, old.spec),
  scale: replicasScale,
  table: {
    columns: [
      nameColumn,
      column("Desired", "Replicas is the number of desired pods.", 0, "integer"),
      column("Current", "Replicas is the most recently observed number of non-terminating pods.", 0, "integer"),
      column("Ready", "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.", 0, "integer"),
      ageColumn,
      containersColumn,
      imagesColumn,
      selectorColumn("Selector is a label query over pods that should match the replica count."),
    ],
    row(rs, now) {
      const [names, images] = containerCells(rs.spec?.template?.spec?.containers);
      return [
        rs.metadata.name,
        rs.spec?.replicas ?? 0,
        rs.status?.replicas ?? 0,
        rs.status?.readyReplicas ?? 0,
        age(rs.metadata.creationTimestamp, now),
        names,
        images,
        labelSelectorString(rs.spec?.selector),
      ];
    },
  },
};
