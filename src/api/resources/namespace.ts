import { Type, type Static } from "@sinclair/typebox";
import type { KubeObject } from "../meta";
import type { ResourceDef } from "../resource";
import { Obj, TopLevel } from "../schema";
import { age, ageColumn, column, nameColumn } from "../table";
import { fieldInvalid, isDns1123Label } from "../validation";
import { Conditions, NullableTime } from "./common";

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

export const namespaces: ResourceDef<Namespace> = {
  group: "",
  version: "v1",
  kind: "Namespace",
  listKind: "NamespaceList",
  plural: "namespaces",
  singular: "namespace",
  shortNames: ["ns"],
  namespaced: false,
  schema: NamespaceSchema,
  subresources: ["status"],
  hasStatus: true,
  defaults(ns) {
    ns.spec ??= {};
    ns.spec.finalizers ??= ["kubernetes"];
    ns.status ??= {};
    ns.status.phase ??= "Active";
  },
  validate(ns) {
    // Namespace names end up in DNS names, so they are labels rather than subdomains.
    const name = ns.metadata.name;
    const errs = name ? isDns1123Label(name).map((m) => fieldInvalid("metadata.name", name, m)) : [];
    const phase = ns.status?.phase;
    if (phase !== undefined && phase !== "Active" && phase !== "Terminating")
      errs.push({ field: "status.phase", type: "NotSupported", message: `Unsupported value: ${JSON.stringify(phase)}: supported values: "Active", "Terminating"` });
    return errs;
  },
  table: {
    columns: [nameColumn, column("Status", "The status of the namespace"), ageColumn],
    row: (ns, now) => [ns.metadata.name, ns.status?.phase ?? "", age(ns.metadata.creationTimestamp, now)],
  },
  fieldSelectors: {
    "status.phase": (ns) => ns.status?.phase ?? "",
  },
};
