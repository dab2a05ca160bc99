import { Type, type Static } from "@sinclair/typebox";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { MergeList, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldRequired } from "../../validation";
import { LocalObjectReferenceSchema, ObjectReferenceSchema } from "../common";

export const ServiceAccountSchema = TopLevel(
  {
    secrets: Type.Optional(MergeList(ObjectReferenceSchema, "name")),
    imagePullSecrets: Type.Optional(Type.Array(LocalObjectReferenceSchema)),
    automountServiceAccountToken: Type.Optional(Type.Boolean()),
  },
  "ServiceAccount binds together: * a name, understood by users, and perhaps by peripheral systems, for an identity * a principal that can be authenticated and authorized * a set of secrets",
);

export type ServiceAccount = Static<typeof ServiceAccountSchema> & KubeObject;

export const serviceAccounts: ResourceDef<ServiceAccount> = {
  ...KINDS.serviceAccounts,
  schema: ServiceAccountSchema,
  subresources: ["token"],
  hasStatus: false,
  defaults() {},
  validate: (sa) =>
    (sa.imagePullSecrets ?? []).flatMap((s, i) => (s.name ? [] : [fieldRequired(`imagePullSecrets[${i}].name`)])),
  table: {
    columns: [nameColumn, column("Secrets", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.", 0), ageColumn],
    row: (sa, now) => [sa.metadata.name, (sa.secrets ?? []).length, age(sa.metadata.creationTimestamp, now)],
  },
};
