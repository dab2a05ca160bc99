// apps/v1 ControllerRevision: a frozen copy of some state of a controller's object (for a
// DaemonSet or StatefulSet, the patch that restores its pod template), numbered by `revision`.
// The DaemonSet and StatefulSet controllers write them; `kubectl rollout history` lists them and
// `kubectl rollout undo` applies one's data back. Its data never changes once written.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { Opaque, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldInvalid, fieldRequired } from "../../validation";
import { Int64, jsonEqual, nonNegative } from "../common";

export const ControllerRevisionSchema = TopLevel(
  {
    // A runtime.RawExtension: any JSON object, kept exactly as written.
    data: Type.Optional(Opaque("The state this revision records, as the controller serialized it.")),
    revision: Type.Optional(Int64({ description: "The number of this revision; higher is newer." })),
  },
  "ControllerRevision is a snapshot of a controller's state that never changes once created (it may be deleted); DaemonSets and StatefulSets keep their template history in them.",
);

export type ControllerRevision = Static<typeof ControllerRevisionSchema> & KubeObject;

/** upstream's ValidateControllerRevision: data present, revision not negative. */
function validateControllerRevision(cr: ControllerRevision): FieldError[] {
  const errs: FieldError[] = [];
  if (cr.data === undefined || cr.data === null) errs.push(fieldRequired("data", "data is mandatory"));
  errs.push(...nonNegative(cr.revision, "revision"));
  return errs;
}

/** The Controller column: "<kind>.<group>/<name>" of the controlling owner, "<none>" without one. */
function controllerCell(cr: ControllerRevision): string {
  const ref = cr.metadata.ownerReferences?.find((r) => r.controller);
  if (!ref) return "<none>";
  const group = ref.apiVersion.includes("/") ? ref.apiVersion.split("/")[0] : "";
  return `${ref.kind.toLowerCase()}${group ? `.${group}` : ""}/${ref.name}`;
}

export const controllerRevisions: ResourceDef<ControllerRevision> = {
  ...KINDS.controllerRevisions,
  schema: ControllerRevisionSchema,
  subresources: [],
  hasStatus: false,
  defaults(cr) {
    cr.revision ??= 0;
  },
  validate: validateControllerRevision,
  immutable: (cr, old) => (jsonEqual(cr.data ?? null, old.data ?? null) ? [] : [fieldInvalid("data", cr.data ?? null, "field is immutable")]),
  table: {
    columns: [
      nameColumn,
      column("Controller", "Controller of the object"),
      column("Revision", "Revision indicates the revision of the state represented by Data."),
      ageColumn,
    ],
    row: (cr, now) => [cr.metadata.name, controllerCell(cr), cr.revision ?? 0, age(cr.metadata.creationTimestamp, now)],
  },
};
