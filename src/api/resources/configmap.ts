import { Type, type Static } from "@sinclair/typebox";
import type { ResourceDef } from "../resource";
import { StringMap, TopLevel } from "../schema";
import { age, ageColumn, column, nameColumn } from "../table";
import type { KubeObject } from "../meta";
import { validateDataKeys } from "../validation";

export const ConfigMapSchema = TopLevel(
  {
    data: Type.Optional(StringMap),
    binaryData: Type.Optional(StringMap),
    immutable: Type.Optional(Type.Boolean()),
  },
  "ConfigMap holds configuration data for pods to consume.",
);

export type ConfigMap = Static<typeof ConfigMapSchema> & KubeObject;

export const configMaps: ResourceDef<ConfigMap> = {
  group: "",
  version: "v1",
  kind: "ConfigMap",
  listKind: "ConfigMapList",
  plural: "configmaps",
  singular: "configmap",
  shortNames: ["cm"],
  namespaced: true,
  schema: ConfigMapSchema,
  subresources: [],
  hasStatus: false,
  defaults() {},
  validate: (cm) => [...validateDataKeys(cm.data, "data"), ...validateDataKeys(cm.binaryData, "binaryData")],
  immutable: (cm, old) =>
    old.immutable && (JSON.stringify(cm.data) !== JSON.stringify(old.data) || cm.immutable !== true)
      ? [{ field: "data", type: "Forbidden", message: "field is immutable when `immutable` is set" }]
      : [],
  table: {
    columns: [nameColumn, column("Data", "Number of data entries", 0, "integer"), ageColumn],
    row: (cm, now) => [
      cm.metadata.name,
      Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length,
      age(cm.metadata.creationTimestamp, now),
    ],
  },
};
