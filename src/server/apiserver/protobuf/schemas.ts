// Binds every served kind's schema to its protobuf message: each field the schema declares must
// have a field number in the message (messages.ts, upstream's generated.proto) with a wire type
// that carries the schema's type. A field added to a schema without its protobuf field would be
// dropped silently from every protobuf body kubectl sends, so the mismatch is an error instead,
// reported with the schema path and the message it was looked up in.
//
// Upstream's messages hold fields bramble's schemas leave out or keep Opaque (rare volume sources,
// newer alpha fields); those stay decodable from the table and pass on to validation as JSON.
import type { TSchema } from "@sinclair/typebox";
import type { ResourceDef } from "../../../api/resource";
import { MESSAGES } from "./messages";

const SCALARS = new Set(["string", "bool", "int32", "int64", "bytes"]);
const TIMES = new Set(["meta.Time", "meta.MicroTime"]);

interface Field {
  type: string; // scalar, message key, or a map's value type
  repeated: boolean;
  map: boolean;
}

/** A message's fields by JSON name, the fields of inlined messages (Probe's handler) included. */
function fieldsByName(key: string, out = new Map<string, Field>()): Map<string, Field> {
  for (const spec of MESSAGES[key] ?? []) {
    const [, name, type] = spec.split(" ") as [string, string, string];
    if (name === "...") {
      fieldsByName(type, out);
      continue;
    }
    if (type.startsWith("[")) out.set(name, { type: type.slice(1, -1), repeated: true, map: false });
    else if (type.startsWith("{")) out.set(name, { type: type.slice(1, -1).split(":")[1]!, repeated: false, map: true });
    else out.set(name, { type, repeated: false, map: false });
  }
  return out;
}

type Json = Record<string, unknown>;

/**
 * The problems binding `schema` to message `key` finds, as "path: what" lines; empty when every
 * schema field has a protobuf field that carries it.
 */
export const bindSchema = (schema: TSchema, key: string, path: string): string[] => binder()(schema, key, path);

/** A bind function that walks each (message, schema node) pair once over all its calls. */
function binder(): (schema: TSchema, key: string, path: string) => string[] {
  let problems: string[] = [];
  const seen = new Set<string>(); // "message|schema-node" pairs already walked (schemas share nodes)
  const ids = new Map<object, number>();
  const idOf = (o: object) => ids.get(o) ?? (ids.set(o, ids.size), ids.size - 1);
  const byMessage = new Map<string, Map<string, Field>>();

  const message = (s: Json, key: string, path: string, top = false) => {
    if (!(key in MESSAGES)) return problems.push(`${path}: no protobuf message ${key}`);
    const pair = `${key}|${idOf(s)}`;
    if (seen.has(pair)) return;
    seen.add(pair);
    let fields = byMessage.get(key);
    if (!fields) byMessage.set(key, (fields = fieldsByName(key)));
    for (const [name, prop] of Object.entries((s.properties ?? {}) as Record<string, Json>)) {
      // A top-level object's apiVersion and kind travel in the envelope's typeMeta; a kind
      // embedded whole (a StatefulSet's volumeClaimTemplates) has none on the wire.
      if ((top || isEmbeddedKind(s)) && (name === "apiVersion" || name === "kind")) continue;
      const f = fields.get(name);
      if (!f) problems.push(`${path}.${name}: no field in protobuf message ${key}`);
      else value(prop, f, `${path}.${name}`);
    }
  };

  // A schema value against a protobuf field: repeated and map shape, then the element type.
  const value = (s: Json, f: Field, path: string) => {
    if (s.type === "array") {
      if (!f.repeated) return problems.push(`${path}: a list in the schema, not repeated in protobuf`);
      return element(s.items as Json, f.type, `${path}[]`);
    }
    if (s.type === "object" && s.patternProperties) {
      if (!f.map) return problems.push(`${path}: a map in the schema, not a map in protobuf`);
      return element(Object.values(s.patternProperties as Record<string, Json>)[0]!, f.type, `${path}{}`);
    }
    if (f.repeated || f.map) {
      if (isAnything(s)) return; // passed through as sent
      return problems.push(`${path}: ${f.repeated ? "repeated" : "a map"} in protobuf, not in the schema`);
    }
    element(s, f.type, path);
  };

  const element = (s: Json, type: string, path: string) => {
    const want = kindOf(s);
    const ok =
      want === "anything" ||
      (want === "string" && (type === "string" || type === "bytes")) ||
      (want === "int32" && type === "int32") ||
      (want === "int64" && type === "int64") ||
      (want === "integer" && (type === "int32" || type === "int64")) ||
      (want === "bool" && type === "bool") ||
      (want === "time" && TIMES.has(type)) ||
      (want === "int-or-string" && type === "intstr.IntOrString") ||
      (want === "quantity" && type === "resource.Quantity") ||
      (want === "object" && !SCALARS.has(type) && !TIMES.has(type) && type !== "intstr.IntOrString" && type !== "resource.Quantity");
    if (!ok) return problems.push(`${path}: ${want} in the schema, ${type} in protobuf`);
    if (want === "object") message(s, type, path);
  };

  return (schema, key, path) => {
    problems = [];
    message(schema as unknown as Json, key, path, true);
    return problems;
  };
}

/**
 * An object of a kind embedded whole in another (apiVersion, kind and metadata, as a
 * StatefulSet's volumeClaimTemplates): upstream's message for it has no TypeMeta, so its
 * apiVersion and kind are not carried by protobuf (the kind's defaults fill them in).
 */
export const isEmbeddedKind = (s: Json): boolean => {
  const props = (s.properties ?? {}) as Json;
  return "apiVersion" in props && "kind" in props && "metadata" in props;
};

/** What a schema node holds, in the terms protobuf types are told apart by. */
function kindOf(s: Json): string {
  if (s["x-kubernetes-int-or-string"]) {
    const types = ((s.anyOf ?? []) as Json[]).map((a) => a.type);
    return types.includes("number") ? "quantity" : "int-or-string";
  }
  if (s.anyOf) {
    const branches = (s.anyOf as Json[]).filter((a) => a.type !== "null");
    if (branches.every((a) => a.format === "date-time")) return "time";
    if (branches.every((a) => a.type === "string" || typeof a.const === "string")) return "string";
    return "union";
  }
  if (isAnything(s)) return "anything";
  switch (s.type) {
    case "string":
      return s.format === "date-time" ? "time" : "string";
    case "integer":
      return s.format === "int32" ? "int32" : s.format === "int64" ? "int64" : "integer";
    case "boolean":
      return "bool";
    case "object":
      return "object";
  }
  return String(s.type);
}

/** Unknown ({}) and Opaque objects: kept as sent, so any protobuf message carries them. */
function isAnything(s: Json): boolean {
  if (s.type === undefined && s.anyOf === undefined) return true;
  return s.type === "object" && s.additionalProperties === true && Object.keys((s.properties ?? {}) as object).length === 0;
}

/** The message a served kind is written in: the package of its group version, then its kind. */
export function messageKeyOf(def: Pick<ResourceDef, "group" | "version" | "kind">, packages: Record<string, string>): string | undefined {
  const pkg = packages[def.group ? `${def.group}/${def.version}` : def.version];
  return pkg && `${pkg}.${def.kind}`;
}

/** Binds every kind to its message; throws, naming each unbound field, when one is missing. */
export function assertSchemasBound(defs: readonly ResourceDef[], packages: Record<string, string>): void {
  const bind = binder();
  const problems = defs.flatMap((def) => {
    const key = messageKeyOf(def, packages);
    return key ? bind(def.schema, key, def.kind) : [`${def.kind}: no protobuf package for ${def.group || "core"}/${def.version}`];
  });
  if (problems.length) throw new Error(`protobuf messages (protobuf/messages.ts) do not carry these schema fields:\n  ${problems.join("\n  ")}`);
}
