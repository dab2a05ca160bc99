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
  containersColumn,
  formatLabels,
  imagesColumn,
  Int32,
  Int64,
  isZeroIntOrPercent,
  labelSelectorString,
  nonNegative,
  percentOver100,
  selectorColumn,
  validateIntOrPercent,
  WorkloadConditionSchema,
} from "../common";
import { PodTemplateSpecSchema } from "../core/podspec.schema";
import { defaultTemplate, selectorImmutable, validateWorkload } from "./workload";

const Opt = Type.Optional;

export const DaemonSetSpecSchema = Obj({
  selector: LabelSelectorSchema,
  template: PodTemplateSpecSchema,
  updateStrategy: Opt(
    Obj({
      type: Opt(Type.String()),
      rollingUpdate: Opt(Obj({ maxUnavailable: Opt(IntOrString), maxSurge: Opt(IntOrString) })),
    }),
  ),
  minReadySeconds: Opt(Int32()),
  revisionHistoryLimit: Opt(Int32()),
});

export const DaemonSetStatusSchema = Obj({
  currentNumberScheduled: Int32(),
  numberMisscheduled: Int32(),
  desiredNumberScheduled: Int32(),
  numberReady: Int32(),
  observedGeneration: Opt(Int64()),
  updatedNumberScheduled: Opt(Int32()),
  numberAvailable: Opt(Int32()),
  numberUnavailable: Opt(Int32()),
  collisionCount: Opt(Int32()),
  conditions: Opt(Conditions(WorkloadConditionSchema)),
});

export const DaemonSetSchema = TopLevel(
  { spec: Opt(DaemonSetSpecSchema), status: Opt(DaemonSetStatusSchema) },
  "DaemonSet represents the configuration of a daemon set.",
);

export type DaemonSet = Static<typeof DaemonSetSchema> & KubeObject;

function defaultDaemonSet(ds: DaemonSet) {
  if (!ds.spec) return;
  const spec = ds.spec;
  spec.updateStrategy ??= {};
  spec.updateStrategy.type ??= "RollingUpdate";
  if (spec.updateStrategy.type === "RollingUpdate") {
    spec.updateStrategy.rollingUpdate ??= {};
    spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
    spec.updateStrategy.rollingUpdate.maxSurge ??= 0;
  }
  spec.revisionHistoryLimit ??= 10;
  defaultTemplate(spec.template);
  ds.status ??= { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
}

function validateDaemonSet(ds: DaemonSet): FieldError[] {
  const spec = ds.spec;
  const errs = validateWorkload(spec, "daemonset");
  if (!spec) return errs;
  const us = spec.updateStrategy;
  if (us?.type !== undefined && !["OnDelete", "RollingUpdate"].includes(us.type))
    errs.push(fieldNotSupported("spec.updateStrategy.type", us.type, ["OnDelete", "RollingUpdate"]));
  if (us?.type === "OnDelete" && us.rollingUpdate)
    errs.push(fieldForbidden("spec.updateStrategy.rollingUpdate", "may not be specified when strategy `type` is 'OnDelete'"));
  const ru = us?.rollingUpdate;
  if (ru) {
    const p = "spec.updateStrategy.rollingUpdate";
    errs.push(...validateIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
    errs.push(...validateIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
    const unavailZero = ru.maxUnavailable === undefined || isZeroIntOrPercent(ru.maxUnavailable);
    const surgeZero = ru.maxSurge === undefined || isZeroIntOrPercent(ru.maxSurge);
    if (unavailZero && surgeZero)
      errs.push(fieldInvalid(`${p}.maxUnavailable`, ru.maxUnavailable ?? 0, "may not be 0 when `maxSurge` is 0"));
    if (percentOver100(ru.maxUnavailable)) errs.push(fieldInvalid(`${p}.maxUnavailable`, ru.maxUnavailable, "must not be greater than 100%"));
    if (percentOver100(ru.maxSurge)) errs.push(fieldInvalid(`${p}.maxSurge`, ru.maxSurge, "must not be greater than 100%"));
  }
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  errs.push(...nonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit"));
  return errs;
}

export const daemonSets: ResourceDef<DaemonSet> = {
  ...KINDS.daemonSets,
  schema: DaemonSetSchema,
  subresources: ["status"],
  hasStatus: true,
  defaults: defaultDaemonSet,
  validate: validateDaemonSet,
  immutable: (ds, old) => selectorImmutable(ds.spec, old.spec),
  table: {
    columns: [
      nameColumn,
      column("Desired", "The total number of nodes that should be running the daemon pod.", 0, "integer"),
      column("Current", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.", 0, "integer"),
      column("Ready", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.", 0, "integer"),
      column("Up-to-date", "The total number of nodes that are running updated daemon pod", 0, "integer"),
      column("Available", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.", 0, "integer"),
      column("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node."),
      ageColumn,
      containersColumn,
      imagesColumn,
      selectorColumn("A label query over pods that are managed by the daemon set."),
    ],
    row(ds, now) {
      const [names, images] = containerCells(ds.spec?.template?.spec?.containers);
      const st = ds.status;
      return [
        ds.metadata.name,
        st?.desiredNumberScheduled ?? 0,
        st?.currentNumberScheduled ?? 0,
        st?.numberReady ?? 0,
        st?.updatedNumberScheduled ?? 0,
        st?.numberAvailable ?? 0,
        formatLabels(ds.spec?.template?.spec?.nodeSelector),
        age(ds.metadata.creationTimestamp, now),
        names,
        images,
        labelSelectorString(ds.spec?.selector),
      ];
    },
  },
};
