import { Type, type Static } from "@sinclair/typebox";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { StringMap, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import type { KubeObject } from "../../meta";
import type { FieldError } from "../../errors";
import { fieldInvalid, fieldTooLong, validateDataKeys } from "../../validation";
import { isBase64, MAX_SECRET_SIZE } from "../common";

export const ConfigMapSchema = TopLevel(
  {
    data: Type.Optional(StringMap),
    binaryData: Type.Optional(StringMap),
    immutable: Type.Optional(Type.Boolean()),
  },
  "ConfigMap holds configuration data for pods to consume.",
);

export type ConfigMap = Static<typeof ConfigMapSchema> & KubeObject;

/** ValidateConfigMap: keys, no key in both bags, base64 binaryData, 1 MiB in total. */
function validateConfigMap(cm: ConfigMap): FieldError[] {
  const errs = [...validateDataKeys(cm.data, "data"), ...validateDataKeys(cm.binaryData, "binaryData")];
  const data = cm.data ?? {};
  const binary = cm.binaryData ?? {};
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    if (Object.hasOwn(binary, k)) errs.push(fieldInvalid(`data[${k}]`, k, "duplicate of key present in binaryData"));
    total += Buffer.byteLength(v, "utf8");
  }
  for (const [k, v] of Object.entries(binary)) {
    if (Object.hasOwn(data, k)) errs.push(fieldInvalid(`binaryData[${k}]`, k, "duplicate of key present in data"));
    if (!isBase64(v)) errs.push(fieldInvalid(`binaryData[${k}]`, "<binary data>", "must be a base64-encoded string"));
    else total += Math.floor((v.length * 3) / 4);
  }
  if (total > MAX_SECRET_SIZE) errs.push(fieldTooLong("", MAX_SECRET_SIZE));
  return errs;
}

export const configMaps: ResourceDef<ConfigMap> = {
  ...KINDS.configMaps,
  schema: ConfigMapSchema,
  subresources: [],
  hasStatus: false,
  defaults() {},
  validate: validateConfigMap,
  immutable: (cm, old) =>
    old.immutable && (JSON.stringify(cm.data) !== JSON.stringify(old.data) || cm.immutable !== true)
      ? [{ field: "data", type: "Forbidden", message: "field is immutable when `immutable` is set" }]
      : [],
  table: {
    columns: [nameColumn, column("Data", "Data contains the configuration data."), ageColumn],
    row: (cm, now) => [
      cm.metadata.name,
      Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length,
      age(cm.metadata.creationTimestamp, now),
    ],
  },
};
