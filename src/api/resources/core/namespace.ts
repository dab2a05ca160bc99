import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { Obj, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldNotSupported, isDns1123Label } from "../../validation";
import { Conditions, NullableTime } from "../common";

export const NamespaceSchema = TopLevel(
  {
    spec: Type.Optional(Obj({ finalizers: Type.Optional(Type.Array(Type.String())) })),
    status: Type.Optional(
      Obj({
        phase: Type.Optional(Type.String()),
        conditions: Type.Optional(
          Conditions(
            Obj({
              type: Type.String(),
              status: Type.String(),
              lastTransitionTime: Type.Optional(NullableTime),
              reason: Type.Optional(Type.String()),
              message: Type.Optional(Type.String()),
            }),
          ),
        ),
      }),
    ),
  },
  "Namespace provides a scope for Names. Use of multiple namespaces is optional.",
);

export type Namespace = Static<typeof NamespaceSchema> & KubeObject;

/** Namespaces the cluster cannot work without. */
const PROTECTED_NAMESPACES = new Set(["default", "kube-system", "kube-public", "kube-node-lease"]);

export const namespaces: ResourceDef<Namespace> = {
  ...KINDS.namespaces,
  schema: NamespaceSchema,
  subresources: ["status"],
  hasStatus: true,
  defaults(ns) {
    // Upstream labels every namespace with its own name (immutably, since 1.21), so selectors can
    // pick namespaces by name; `kubectl get ns --show-labels` shows it.
    if (ns.metadata.name) ns.metadata.labels = { ...ns.metadata.labels, "kubernetes.io/metadata.name": ns.metadata.name };
    ns.spec ??= {};
    ns.spec.finalizers ??= ["kubernetes"];
    ns.status ??= {};
    ns.status.phase ??= "Active";
  },
  validate(ns) {
    // metadata.name (a DNS-1123 label for namespaces, nameValidator) is checked centrally with the rest of metadata.
    const errs: FieldError[] = [];
    const phase = ns.status?.phase;
    if (phase !== undefined && phase !== "Active" && phase !== "Terminating")
      errs.push(fieldNotSupported("status.phase", phase, ["Active", "Terminating"]));
    return errs;
  },
  table: {
    columns: [nameColumn, column("Status", "The status of the namespace"), ageColumn],
    row: (ns, now) => [ns.metadata.name, ns.status?.phase ?? "", age(ns.metadata.creationTimestamp, now)],
  },
  fieldSelectors: {
    "status.phase": (ns) => ns.status?.phase ?? "",
  },
  nameValidator: isDns1123Label,
  deletionRefused: (ns) => (PROTECTED_NAMESPACES.has(ns.metadata.name!) ? "this namespace may not be deleted" : undefined),
  // Deleting a namespace marks it Terminating; the namespace controller deletes the contents,
  // clears spec.finalizers, and the namespace goes then.
  markDeleted(ns, now) {
    if (ns.metadata.deletionTimestamp) return undefined;
    const next = structuredClone(ns);
    next.metadata.deletionTimestamp = now;
    next.metadata.deletionGracePeriodSeconds = 0;
    next.status = { ...ns.status, phase: "Terminating" };
    return next;
  },
  deletionHeld: (ns) => !!ns.spec?.finalizers?.length,
};
