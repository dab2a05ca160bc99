// What apps/v1 Deployments, ReplicaSets and DaemonSets share: a selector that must match the
// template's labels and may not change, a pod template with pod defaults, and the Scale view.
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import type { ScaleSpec } from "../../resource";
import { fieldInvalid, fieldRequired, validateLabelSelector, type LabelSelectorObject } from "../../validation";
import { formatLabels, jsonEqual, labelSelectorString, selectorIsEmpty, selectorMatches } from "../common";
import { defaultPodSpec } from "../core/podspec.defaults";
import type { PodTemplateSpec } from "../core/podspec.schema";
import { validatePodTemplate } from "../core/podspec.validate";

export interface WorkloadSpec {
  selector?: LabelSelectorObject;
  template?: PodTemplateSpec;
  replicas?: number;
}

export function defaultTemplate(t: PodTemplateSpec | undefined) {
  // Go clients send a template's zero creationTimestamp as null (`kubectl rollout undo` does);
  // it means "unset", and must not make an otherwise equal template look different.
  if (t?.metadata?.creationTimestamp === null) delete t.metadata.creationTimestamp;
  if (t?.spec) defaultPodSpec(t.spec);
}

/** Selector present, non-empty, valid and matching the template labels; the template itself. */
export function validateWorkload(spec: WorkloadSpec | undefined, kindName: string): FieldError[] {
  if (!spec) return [fieldRequired("spec")];
  const errs: FieldError[] = [];
  if (!spec.selector) errs.push(fieldRequired("spec.selector"));
  else {
    errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
    if (selectorIsEmpty(spec.selector))
      errs.push(fieldInvalid("spec.selector", spec.selector, `empty selector is invalid for ${kindName}`));
  }
  if (!spec.template) errs.push(fieldRequired("spec.template"));
  else {
    const labels = spec.template.metadata?.labels;
    if (spec.selector && !selectorIsEmpty(spec.selector) && !selectorMatches(spec.selector, labels))
      errs.push(fieldInvalid("spec.template.metadata.labels", formatLabels(labels), "`selector` does not match template `labels`"));
    errs.push(...validatePodTemplate(spec.template, "spec.template", { restartPolicies: ["Always"] }));
  }
  if (spec.replicas !== undefined && spec.replicas < 0)
    errs.push(fieldInvalid("spec.replicas", spec.replicas, "must be greater than or equal to 0"));
  return errs;
}

export function selectorImmutable(spec: WorkloadSpec | undefined, old: WorkloadSpec | undefined): FieldError[] {
  return jsonEqual(spec?.selector ?? null, old?.selector ?? null)
    ? []
    : [fieldInvalid("spec.selector", spec?.selector ?? null, "field is immutable")];
}

type Scalable = KubeObject & { spec?: WorkloadSpec; status?: { replicas?: number } };

/** The Scale subresource for objects with spec.replicas and status.replicas. */
export const replicasScale: ScaleSpec = {
  specReplicas: (obj) => (obj as Scalable).spec?.replicas ?? 0,
  statusReplicas: (obj) => (obj as Scalable).status?.replicas ?? 0,
  selector: (obj) => labelSelectorString((obj as Scalable).spec?.selector),
  setSpecReplicas(obj, n) {
    const o = obj as Scalable;
    (o.spec ??= {}).replicas = n;
  },
};
