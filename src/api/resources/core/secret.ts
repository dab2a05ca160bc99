import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { StringMap, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldForbidden, fieldInvalid, fieldRequired, fieldTooLong, validateDataKeys } from "../../validation";
import { isBase64, jsonEqual, MAX_SECRET_SIZE } from "../common";

export const SecretSchema = TopLevel(
  {
    data: Type.Optional(Type.Record(Type.String(), Type.String())),
    stringData: Type.Optional(StringMap),
    type: Type.Optional(Type.String()),
    immutable: Type.Optional(Type.Boolean()),
  },
  "Secret holds secret data of a certain type. The total bytes of the values in the Data field must be less than MaxSecretSize bytes.",
);

export type Secret = Static<typeof SecretSchema> & KubeObject;

/** Bytes a base64 value decodes to. */
const decodedLength = (s: string) => Math.floor((s.length * 3) / 4) - (s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0);

const decode = (s: string) => Buffer.from(s, "base64").toString("utf8");

function validateSecret(secret: Secret): FieldError[] {
  const errs: FieldError[] = [...validateDataKeys(secret.data, "data"), ...validateDataKeys(secret.stringData, "stringData")];
  const data = secret.data ?? {};
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    if (!isBase64(v)) errs.push(fieldInvalid(`data[${k}]`, "<secret contents redacted>", "must be a base64-encoded string"));
    else total += decodedLength(v);
  }
  if (total > MAX_SECRET_SIZE) errs.push(fieldTooLong("data", MAX_SECRET_SIZE));

  const has = (k: string) => (data[k] ?? "").length > 0;
  const requireKey = (k: string) => (has(k) ? [] : [fieldRequired(`data[${k}]`)]);
  const requireJson = (k: string) => {
    if (!has(k)) return [fieldRequired(`data[${k}]`)];
    try {
      JSON.parse(decode(data[k]));
      return [];
    } catch (e) {
      return [fieldInvalid(`data[${k}]`, "<secret contents redacted>", (e as Error).message)];
    }
  };
  switch (secret.type) {
    case "kubernetes.io/service-account-token":
      if (!secret.metadata.annotations?.["kubernetes.io/service-account.name"])
        errs.push(fieldRequired("metadata.annotations[kubernetes.io/service-account.name]"));
      break;
    case "kubernetes.io/dockercfg":
      errs.push(...requireJson(".dockercfg"));
      break;
    case "kubernetes.io/dockerconfigjson":
      errs.push(...requireJson(".dockerconfigjson"));
      break;
    case "kubernetes.io/basic-auth":
      if (!has("username") && !has("password")) errs.push(fieldRequired("data[username]"), fieldRequired("data[password]"));
      break;
    case "kubernetes.io/ssh-auth":
      errs.push(...requireKey("ssh-privatekey"));
      break;
    case "kubernetes.io/tls":
      errs.push(...requireKey("tls.crt"), ...requireKey("tls.key"));
      break;
  }
  return errs;
}

function secretImmutable(secret: Secret, old: Secret): FieldError[] {
  const errs: FieldError[] = [];
  if ((secret.type ?? "Opaque") !== (old.type ?? "Opaque")) errs.push(fieldInvalid("type", secret.type ?? "", "field is immutable"));
  if (old.immutable) {
    if (secret.immutable !== true) errs.push(fieldForbidden("immutable", "field is immutable when `immutable` is set"));
    if (!jsonEqual(secret.data ?? {}, old.data ?? {})) errs.push(fieldForbidden("data", "field is immutable when `immutable` is set"));
  }
  return errs;
}

export const secrets: ResourceDef<Secret> = {
  ...KINDS.secrets,
  schema: SecretSchema,
  subresources: [],
  hasStatus: false,
  defaults(secret) {
    secret.type ||= "Opaque";
    // stringData is write-only: it is merged into data (winning over it) and never stored.
    if (secret.stringData) {
      secret.data ??= {};
      for (const [k, v] of Object.entries(secret.stringData)) secret.data[k] = Buffer.from(v, "utf8").toString("base64");
      delete secret.stringData;
    }
  },
  validate: validateSecret,
  immutable: secretImmutable,
  table: {
    columns: [
      nameColumn,
      column("Type", "Used to facilitate programmatic handling of secret data."),
      column("Data", "Data contains the secret data."),
      ageColumn,
    ],
    row: (s, now) => [s.metadata.name, s.type ?? "Opaque", Object.keys(s.data ?? {}).length, age(s.metadata.creationTimestamp, now)],
  },
  fieldSelectors: {
    type: (s) => s.type ?? "Opaque",
  },
};
