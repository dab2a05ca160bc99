// The OpenAPI v3 schema of a CustomResourceDefinition version, interpreted at run time: pruning
// of unknown fields, defaulting from `default`, and validation with upstream's field paths and
// wording (apiextensions-apiserver's schema validation over kube-openapi's validator).
import type { FieldError } from "../errors";
import { fieldInvalid, fieldNotSupported, fieldRequired, fieldTooLong, fieldTooMany, renderValue } from "../validation";

/** A JSONSchemaProps as a CRD carries it (only the parts interpreted here are typed). */
export interface JSONSchemaProps {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  default?: unknown;
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  [k: string]: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** The fields every object has, whatever its schema says: kept by pruning, never validated here. */
const ROOT_FIELDS = new Set(["apiVersion", "kind", "metadata"]);

/**
 * Drops every field the schema does not name (upstream's pruning), in place. Below
 * x-kubernetes-preserve-unknown-fields everything is kept; an embedded resource keeps its
 * apiVersion, kind and metadata.
 */
export function prune(value: unknown, schema: JSONSchemaProps | undefined, root = true, path = "", pruned?: string[]): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => prune(item, schema.items, false, `${path}[${i}]`, pruned));
    return;
  }
  if (!isObj(value)) return;
  const props = schema.properties;
  const add = schema.additionalProperties;
  const keepsAll = schema["x-kubernetes-preserve-unknown-fields"] === true;
  for (const key of Object.keys(value)) {
    const p = props?.[key];
    if (p) prune(value[key], p, false, join(path, key), pruned);
    else if (isObj(add)) prune(value[key], add, false, join(path, key), pruned);
    else if (add === true || keepsAll) continue;
    else if ((root || schema["x-kubernetes-embedded-resource"]) && ROOT_FIELDS.has(key)) continue;
    else {
      pruned?.push(join(path, key));
      delete value[key];
    }
  }
}

/** The fields pruning would drop, as paths ("spec.unknownField"), without changing the value. */
export function unknownFields(value: unknown, schema: JSONSchemaProps | undefined): string[] {
  const pruned: string[] = [];
  prune(structuredClone(value), schema, true, "", pruned);
  return pruned;
}

/** Fills `default`s in place, as upstream: a missing property with a default gets it (a copy). */
export function applyDefaults(value: unknown, schema: JSONSchemaProps | undefined): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    for (const item of value) applyDefaults(item, schema.items);
    return;
  }
  if (!isObj(value)) return;
  for (const [key, p] of Object.entries(schema.properties ?? {})) {
    if (value[key] === undefined && p.default !== undefined) value[key] = structuredClone(p.default);
    applyDefaults(value[key], p);
  }
  if (isObj(schema.additionalProperties)) for (const [k, v] of Object.entries(value)) if (!schema.properties?.[k]) applyDefaults(v, schema.additionalProperties);
}

const typeName = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v === "number" ? (Number.isInteger(v) ? "integer" : "number") : typeof v);

/** What kube-openapi names after "must be of type X:": the type the value has. */
const quoted = (v: unknown) => JSON.stringify(typeName(v));

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const FORMATS: Record<string, (v: unknown) => boolean> = {
  "date-time": (v) => typeof v === "string" && DATE_TIME.test(v) && !Number.isNaN(Date.parse(v.replace(" ", "T"))),
  date: (v) => typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)),
  int32: (v) => typeof v === "number" && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31,
  int64: (v) => typeof v === "number" && Number.isInteger(v),
  byte: (v) => typeof v === "string" && /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0,
  uuid: (v) => typeof v === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
};

function typeMatches(type: string, v: unknown): boolean {
  switch (type) {
    case "object":
      return isObj(v);
    case "array":
      return Array.isArray(v);
    case "string":
      return typeof v === "string";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "boolean":
      return typeof v === "boolean";
  }
  return true;
}

/**
 * Validates an object against its version's schema: every problem, as upstream reports them
 * ("spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"").
 */
export function validateValue(value: unknown, schema: JSONSchemaProps | undefined, path = ""): FieldError[] {
  if (!schema) return [];
  const errs: FieldError[] = [];
  const name = path || "body";
  const at = `${name} in body`;
  if (value === null) {
    if (schema.nullable || (!schema.type && !schema["x-kubernetes-int-or-string"])) return [];
    return [fieldInvalid(name, value, `${at} must be of type ${schema.type}: "null"`)];
  }
  if (schema["x-kubernetes-int-or-string"]) {
    if (!(typeof value === "string" || (typeof value === "number" && Number.isInteger(value))))
      return [fieldInvalid(name, value, `${at} must be of type integer,string: ${quoted(value)}`)];
  } else if (schema.type && !typeMatches(schema.type, value)) {
    return [fieldInvalid(name, value, `${at} must be of type ${schema.type}: ${quoted(value)}`)];
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    errs.push(fieldNotSupported(name, value, schema.enum.map((e) => (typeof e === "string" ? e : renderValue(e)))));
  if (typeof value === "string") {
    if (schema.pattern !== undefined) {
      let re: RegExp | undefined;
      try {
        re = new RegExp(schema.pattern, "u");
      } catch {}
      if (re && !re.test(value)) errs.push(fieldInvalid(name, value, `${at} should match '${schema.pattern}'`));
    }
    if (schema.minLength !== undefined && [...value].length < schema.minLength) errs.push(fieldInvalid(name, value, `${at} should be at least ${schema.minLength} chars long`));
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength) errs.push(fieldTooLong(name, schema.maxLength));
  }
  if (schema.format && FORMATS[schema.format] && (typeof value === "string" || typeof value === "number") && !FORMATS[schema.format]!(value))
    errs.push(fieldInvalid(name, value, `${at} must be of type ${schema.format}: ${JSON.stringify(String(value))}`));
  if (typeof value === "number") {
    if (schema.minimum !== undefined && (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum))
      errs.push(fieldInvalid(name, value, `${at} should be greater than ${schema.exclusiveMinimum ? "" : "or equal to "}${schema.minimum}`));
    if (schema.maximum !== undefined && (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum))
      errs.push(fieldInvalid(name, value, `${at} should be less than ${schema.exclusiveMaximum ? "" : "or equal to "}${schema.maximum}`));
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errs.push(fieldInvalid(name, value, `${at} should have at least ${schema.minItems} items`));
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errs.push(fieldTooMany(name, value.length, schema.maxItems));
    value.forEach((item, i) => errs.push(...validateValue(item, schema.items, `${name}[${i}]`)));
  }
  if (isObj(value)) {
    const n = Object.keys(value).length;
    if (schema.minProperties !== undefined && n < schema.minProperties) errs.push(fieldInvalid(name, value, `${at} should have at least ${schema.minProperties} properties`));
    if (schema.maxProperties !== undefined && n > schema.maxProperties) errs.push(fieldTooMany(name, n, schema.maxProperties));
    for (const r of schema.required ?? []) if (value[r] === undefined) errs.push(fieldRequired(join(path, r)));
    const embedded = schema["x-kubernetes-embedded-resource"];
    if (embedded) {
      if (typeof value.apiVersion !== "string" || !value.apiVersion) errs.push(fieldRequired(join(path, "apiVersion"), "must not be empty"));
      if (typeof value.kind !== "string" || !value.kind) errs.push(fieldRequired(join(path, "kind"), "must not be empty"));
    }
    for (const [k, v] of Object.entries(value)) {
      const p = schema.properties?.[k];
      if (p) errs.push(...validateValue(v, p, join(path, k)));
      else if (isObj(schema.additionalProperties)) errs.push(...validateValue(v, schema.additionalProperties, join(path, k)));
    }
  }
  for (const sub of schema.allOf ?? []) errs.push(...validateValue(value, { ...sub, type: sub.type }, path));
  if (schema.anyOf?.length && !schema.anyOf.some((s) => !validateValue(value, s, path).length))
    errs.push(fieldInvalid(name, value, `${at} must validate at least one schema (anyOf)`));
  if (schema.oneOf?.length && schema.oneOf.filter((s) => !validateValue(value, s, path).length).length !== 1)
    errs.push(fieldInvalid(name, value, `${at} must validate one and only one schema (oneOf)`));
  if (schema.not && !validateValue(value, schema.not, path).length) errs.push(fieldInvalid(name, value, `${at} must not validate the schema (not)`));
  return errs;
}

/**
 * Upstream's structural-schema rules, the essentials: every node specifies a type (unless
 * int-or-string or preserve-unknown-fields), and properties and additionalProperties are not
 * both given. Answers each violation as upstream words it.
 */
export function structuralProblems(schema: JSONSchemaProps, path: string, root = true): FieldError[] {
  const errs: FieldError[] = shapeProblems(schema, path);
  if (errs.length) return errs;
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  if (!schema.type && !schema["x-kubernetes-int-or-string"] && !(preserve && !root)) errs.push(fieldRequired(`${path}.type`, "must not be empty for specified object fields"));
  if (root && schema.type && schema.type !== "object") errs.push(fieldInvalid(`${path}.type`, schema.type, 'must be object at the root'));
  if (schema.properties && isObj(schema.additionalProperties)) errs.push(fieldForbiddenBoth(`${path}.additionalProperties`));
  for (const [k, p] of Object.entries(schema.properties ?? {})) if (isObj(p)) errs.push(...structuralProblems(p, `${path}.properties[${k}]`, false));
  if (isObj(schema.additionalProperties)) errs.push(...structuralProblems(schema.additionalProperties, `${path}.additionalProperties`, false));
  if (isObj(schema.items)) errs.push(...structuralProblems(schema.items, `${path}.items`, false));
  else if (schema.type === "array") errs.push(fieldRequired(`${path}.items`, "must be specified"));
  return errs;
}

const TYPES = ["object", "array", "string", "integer", "number", "boolean"];
const isCount = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** Keywords of the wrong JSON type (a schema is sent as free JSON), before anything reads them. */
function shapeProblems(s: JSONSchemaProps, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const bad = (k: string, why: string) => errs.push(fieldInvalid(`${path}.${k}`, s[k], why));
  if (s.type !== undefined && (typeof s.type !== "string" || !TYPES.includes(s.type))) errs.push(fieldNotSupported(`${path}.type`, s.type, TYPES));
  for (const k of ["format", "description", "title", "pattern"]) if (s[k] !== undefined && typeof s[k] !== "string") bad(k, "must be a string");
  for (const k of ["minimum", "maximum", "multipleOf"]) if (s[k] !== undefined && typeof s[k] !== "number") bad(k, "must be a number");
  for (const k of ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"]) if (s[k] !== undefined && !isCount(s[k])) bad(k, "must be a non-negative integer");
  for (const k of ["nullable", "exclusiveMinimum", "exclusiveMaximum", "uniqueItems", "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource"])
    if (s[k] !== undefined && typeof s[k] !== "boolean") bad(k, "must be a boolean");
  if (s.required !== undefined && !(Array.isArray(s.required) && s.required.every((r) => typeof r === "string"))) bad("required", "must be a list of strings");
  if (s.enum !== undefined && !Array.isArray(s.enum)) bad("enum", "must be a list");
  if (s.properties !== undefined && !(isObj(s.properties) && Object.values(s.properties).every(isObj))) bad("properties", "must be a map of schemas");
  if (s.items !== undefined && !isObj(s.items)) bad("items", "must be a schema");
  if (s.additionalProperties !== undefined && !isObj(s.additionalProperties) && typeof s.additionalProperties !== "boolean") bad("additionalProperties", "must be a schema or a boolean");
  if (s.not !== undefined && !isObj(s.not)) bad("not", "must be a schema");
  for (const k of ["allOf", "anyOf", "oneOf"]) if (s[k] !== undefined && !(Array.isArray(s[k]) && (s[k] as unknown[]).every(isObj))) bad(k, "must be a list of schemas");
  if (typeof s.pattern === "string") {
    try {
      new RegExp(s.pattern, "u");
    } catch (e) {
      bad("pattern", `must be a valid regular expression, but isn't: ${(e as Error).message}`);
    }
  }
  if (errs.length) return errs;
  // Nested schemas in allOf/anyOf/oneOf/not are checked for shape too (they are read by validation).
  for (const k of ["allOf", "anyOf", "oneOf"] as const) (s[k] ?? []).forEach((sub, i) => errs.push(...shapeProblems(sub, `${path}.${k}[${i}]`)));
  if (s.not) errs.push(...shapeProblems(s.not, `${path}.not`));
  if (!errs.length && s.default !== undefined) {
    // A default must be valid against its own schema, as upstream checks.
    for (const e of validateValue(s.default, { ...s, default: undefined }, `${path}.default`)) errs.push(e);
  }
  return errs;
}

const fieldForbiddenBoth = (field: string): FieldError => ({ field, type: "Forbidden", message: "Forbidden: additionalProperties and properties are mutual exclusive" });

/** The schema at a simple JSONPath (".spec.replicas") or undefined. */
export function schemaAt(schema: JSONSchemaProps | undefined, jsonPath: string): JSONSchemaProps | undefined {
  let s = schema;
  for (const part of jsonPath.split(".").filter(Boolean)) s = s?.properties?.[part] ?? (isObj(s?.additionalProperties) ? s.additionalProperties : undefined);
  return s;
}
