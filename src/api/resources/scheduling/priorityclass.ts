// scheduling.k8s.io/v1 PriorityClass: a cluster-wide name for a pod priority. The priority
// admission plugin turns a pod's priorityClassName into spec.priority; the scheduler orders its
// queue and preempts by that number.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldForbidden, fieldInvalid, fieldNotSupported } from "../../validation";
import { Int32 } from "../common";

export const PriorityClassSchema = TopLevel(
  {
    value: Type.Optional(Int32({ description: "The integer value of this priority class: pods with this class get it as spec.priority." })),
    globalDefault: Type.Optional(Type.Boolean({ description: "Whether pods without a priorityClassName get this class; at most one class may say so." })),
    description: Type.Optional(Type.String({ description: "What the class is for, for people." })),
    preemptionPolicy: Type.Optional(Type.String({ description: "PreemptLowerPriority (default): pods may evict lower-priority pods to be scheduled; Never: they wait." })),
  },
  "PriorityClass defines mapping from a priority class name to the priority integer value.",
);

export type PriorityClass = Static<typeof PriorityClassSchema> & KubeObject;

/** Values above this are reserved for the system classes. */
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
export const SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY;
export const SYSTEM_PRIORITY_CLASS_PREFIX = "system-";
export const PREEMPTION_POLICIES = ["Never", "PreemptLowerPriority"];

/** The classes every cluster has (upstream's SystemPriorityClasses), made at start and never deletable. */
export const SYSTEM_PRIORITY_CLASSES: readonly PriorityClass[] = [
  {
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name: "system-node-critical" },
    value: SYSTEM_CRITICAL_PRIORITY + 1000,
    description: "Used for system critical pods that must not be moved from their current node.",
  },
  {
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name: "system-cluster-critical" },
    value: SYSTEM_CRITICAL_PRIORITY,
    description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
  },
];

/** Upstream's IsKnownSystemPriorityClass: undefined when it is one, else why not. */
function systemClassProblem(name: string, value: number, globalDefault: boolean): string | undefined {
  const known = SYSTEM_PRIORITY_CLASSES.find((c) => c.metadata.name === name);
  if (!known) return `${name} is not a known system priority class`;
  if (known.value !== value) return `value of ${name} PriorityClass must be ${known.value}`;
  if (!!known.globalDefault !== globalDefault) return `globalDefault of ${name} PriorityClass must be ${!!known.globalDefault}`;
  return undefined;
}

function validatePriorityClass(pc: PriorityClass, old?: PriorityClass): FieldError[] {
  const errs: FieldError[] = [];
  const name = pc.metadata.name ?? "";
  if (name.startsWith(SYSTEM_PRIORITY_CLASS_PREFIX)) {
    const problem = systemClassProblem(name, pc.value ?? 0, !!pc.globalDefault);
    if (problem)
      errs.push(fieldForbidden("metadata.name", `priority class names with '${SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only. error: ${problem}`));
  } else if ((pc.value ?? 0) > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.push(fieldForbidden("value", `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`));
  }
  if (pc.preemptionPolicy !== undefined && !PREEMPTION_POLICIES.includes(pc.preemptionPolicy))
    errs.push(fieldNotSupported("preemptionPolicy", pc.preemptionPolicy, PREEMPTION_POLICIES));
  if (old) {
    if ((pc.value ?? 0) !== (old.value ?? 0)) errs.push(fieldForbidden("value", "may not be changed in an update."));
    if (pc.preemptionPolicy !== old.preemptionPolicy) errs.push(fieldInvalid("preemptionPolicy", pc.preemptionPolicy, "field is immutable"));
  }
  return errs;
}

export const priorityClasses: ResourceDef<PriorityClass> = {
  ...KINDS.priorityClasses,
  schema: PriorityClassSchema,
  subresources: [],
  hasStatus: false,
  defaults(pc) {
    pc.value ??= 0;
    pc.preemptionPolicy ??= "PreemptLowerPriority";
  },
  validate: validatePriorityClass,
  deletionRefused: (pc) => (SYSTEM_PRIORITY_CLASSES.some((c) => c.metadata.name === pc.metadata.name) ? "this is a system priority class and cannot be deleted" : undefined),
  table: {
    columns: [
      nameColumn,
      column("Value", "value is the integer value of this priority class.", 0, "integer"),
      column("Global-Default", "globalDefault specifies whether this PriorityClass should be considered as the default priority.", 0, "boolean"),
      ageColumn,
      column("PreemptionPolicy", "preemptionPolicy is the Policy for preempting pods with lower priority."),
    ],
    row: (pc, now) => [pc.metadata.name, pc.value ?? 0, !!pc.globalDefault, age(pc.metadata.creationTimestamp, now), pc.preemptionPolicy ?? ""],
  },
};
