// The ResourceDef of a CustomResourceDefinition's resource, built from the definition at run time:
// the stored version with the others as served versions (conversion None: only apiVersion is
// rewritten), validation, defaulting and pruning from each version's schema, the printer
// columns and the scale subresource.
import { Type, type TSchema } from "@sinclair/typebox";
import { versionsOf } from "../registry";
import { methodNotAllowed } from "../errors";
import { apiVersionOf } from "../kinds";
import type { KubeObject } from "../meta";
import type { ResourceDef, ScaleSpec, ServedVersion, Subresource, TableColumn } from "../resource";
import type { CustomResourceDefinition, CustomResourceDefinitionVersion } from "../resources/apiextensions/customresourcedefinition";
import { ObjectMetaSchema } from "../schema";
import { age, ageColumn, nameColumn } from "../table";
import { applyDefaults, prune, unknownFields, validateValue, type JSONSchemaProps } from "./structural";
import { evalJsonPath, getPath, setPath } from "./jsonpath";

/** What the generic layers decode a custom object with: the envelope; the rest is the CRD schema's. */
export const CustomObjectSchema = Type.Object(
  { apiVersion: Type.Optional(Type.String()), kind: Type.Optional(Type.String()), metadata: Type.Optional(ObjectMetaSchema) },
  { additionalProperties: true },
);

/** The CRD's own schema for a version (the root of its objects). */
export const openApiSchemaOf = (v: CustomResourceDefinitionVersion) => v.schema?.openAPIV3Schema as JSONSchemaProps | undefined;

/** Whether a CRD is Established (its resources are served). */
export const isEstablished = (crd: CustomResourceDefinition) =>
  crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;

/** Prunes and defaults an object with its version's schema, in place. */
export function normalize(obj: KubeObject, schema: JSONSchemaProps | undefined) {
  if (!schema) return;
  prune(obj, schema);
  applyDefaults(obj, schema);
}

function cell(value: unknown, type: string, now: Date): unknown {
  if (value === undefined || value === null) return type === "string" || type === "date" ? "" : null;
  if (type === "date") return typeof value === "string" ? age(value, now) : "";
  if (type === "integer") return typeof value === "number" ? Math.trunc(value) : null;
  if (type === "number") return typeof value === "number" ? value : null;
  if (type === "boolean") return typeof value === "boolean" ? value : null;
  return typeof value === "string" ? value : JSON.stringify(value);
}

function table(v: CustomResourceDefinitionVersion): ResourceDef["table"] {
  const given = v.additionalPrinterColumns ?? [];
  if (!given.length) return { columns: [nameColumn, ageColumn], row: (o, now) => [o.metadata.name, age(o.metadata.creationTimestamp, now)] };
  const columns: TableColumn[] = [
    nameColumn,
    ...given.map((c) => ({ name: c.name ?? "", type: (c.type ?? "string") as TableColumn["type"], ...(c.format && { format: c.format }), description: c.description ?? "", priority: (c.priority ? 1 : 0) as 0 | 1 })),
  ];
  return {
    columns,
    row: (o, now) => [o.metadata.name, ...given.map((c) => {
      const found = evalJsonPath(o, c.jsonPath ?? "");
      return cell(found.length > 1 && c.type === "string" ? found.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(",") : found[0], c.type ?? "string", now);
    })],
  };
}

function scaleSpec(v: CustomResourceDefinitionVersion): ScaleSpec | undefined {
  const s = v.subresources?.scale;
  if (!s?.specReplicasPath || !s.statusReplicasPath) return undefined;
  const num = (x: unknown) => (typeof x === "number" ? x : 0);
  return {
    specReplicas: (o) => num(getPath(o, s.specReplicasPath!)),
    statusReplicas: (o) => num(getPath(o, s.statusReplicasPath!)),
    selector: (o) => (s.labelSelectorPath ? String(getPath(o, s.labelSelectorPath) ?? "") : ""),
    setSpecReplicas: (o, n) => setPath(o, s.specReplicasPath!, n),
  };
}

/**
 * The definition of a CRD's resource: its storage version, with every other served version in
 * `versions`. Undefined when no version is both valid and stored.
 */
export function customResourceDef(crd: CustomResourceDefinition, terminating: () => boolean = () => false): ResourceDef | undefined {
  const spec = crd.spec;
  const names = spec?.names;
  if (!spec?.group || !names?.plural || !names.kind) return undefined;
  const stored = spec.versions?.find((v) => v.storage);
  if (!stored?.name) return undefined;
  const storedSchema = openApiSchemaOf(stored);
  const subresources: Subresource[] = [];
  if (stored.subresources?.status) subresources.push("status");
  const scale = scaleSpec(stored);
  if (scale) subresources.push("scale");
  const group = spec.group;
  const kind = names.kind;
  const others = (spec.versions ?? []).filter((v) => v.served && v !== stored && v.name);
  const versions: ServedVersion[] = others.map((v) => ({
    version: v.name!,
    schema: CustomObjectSchema,
    toStored: (obj) => {
      const out = structuredClone(obj);
      normalize(out, openApiSchemaOf(v));
      out.apiVersion = `${group}/${stored.name}`;
      return out;
    },
    fromStored: (obj) => ({ ...obj, apiVersion: `${group}/${v.name}` }),
  }));
  const def: ResourceDef = {
    group,
    version: stored.name,
    kind,
    listKind: names.listKind ?? `${kind}List`,
    plural: names.plural,
    singular: names.singular ?? kind.toLowerCase(),
    shortNames: names.shortNames ?? [],
    namespaced: spec.scope === "Namespaced",
    categories: names.categories ?? [],
    protobufPackage: "",
    schema: CustomObjectSchema,
    subresources,
    hasStatus: subresources.includes("status"),
    defaults: (obj) => normalize(obj, storedSchema),
    unknownFields: (obj) => unknownFields(obj, storedSchema),
    validate: (obj, old) => {
      if (!old && terminating()) throw methodNotAllowed("create not allowed while custom resource definition is terminating");
      if (!storedSchema) return [];
      const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = obj;
      return validateValue(rest, { ...storedSchema, required: (storedSchema.required ?? []).filter((r) => !["apiVersion", "kind", "metadata"].includes(r)) });
    },
    table: table(stored),
    ...(scale && { scale }),
    ...(versions.length && { versions }),
  };
  return def;
}

/** What OpenAPI publishes for a version: its schema with the envelope every object has. */
export function publishedSchema(v: CustomResourceDefinitionVersion): TSchema {
  const root = openApiSchemaOf(v) ?? {};
  const { apiVersion: _a, kind: _k, metadata: _m, ...props } = root.properties ?? {};
  return {
    ...root,
    type: "object",
    properties: {
      apiVersion: { type: "string", description: API_VERSION_DOC },
      kind: { type: "string", description: KIND_DOC },
      metadata: ObjectMetaSchema,
      ...props,
    },
  } as unknown as TSchema;
}

const API_VERSION_DOC = "APIVersion defines the versioned schema of this representation of an object.";
const KIND_DOC = "Kind is a string value representing the REST resource this object represents.";

/** The definition of a CRD's resource in every version it is served in (the stored one first), each published with its own schema. */
export function customResourceDefs(crd: CustomResourceDefinition, terminating?: () => boolean): ResourceDef[] {
  const def = customResourceDef(crd, terminating);
  if (!def) return [];
  return versionsOf(def).map((d) => {
    const v = crd.spec?.versions?.find((x) => x.name === d.version);
    return v ? { ...d, publishedSchema: publishedSchema(v) } : d;
  });
}

/** The versions a CRD serves, each as "<group>/<version>" (for discovery of the group). */
export const servedVersionsOf = (crd: CustomResourceDefinition) =>
  (crd.spec?.versions ?? []).filter((v) => v.served).map((v) => apiVersionOf({ group: crd.spec?.group ?? "", version: v.name ?? "" }));
