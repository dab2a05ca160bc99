// Every served kind, with every field of its schema filled, encoded to Kubernetes protobuf the way
// client-go does and decoded by bramble back to the same JSON. The encoder here is driven by the
// same message table as the decoder: this proves the schemas and the table agree field by field,
// not that the table's numbers are upstream's (those are copied by hand from generated.proto).
import { describe, expect, test } from "bun:test";
import type { TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { resources as stored, servedResources } from "../../../api/registry";
import { apiVersionOf } from "../../../api/resource";
import { decodeKubernetesProtobuf, messageOf } from "./index";
import { MESSAGES } from "./messages";
import { isEmbeddedKind } from "./schemas";
import { Writer } from "./writer";

type Json = Record<string, unknown>;

interface Field {
  num: number;
  name: string; // "..." for a message inlined into its parent in JSON
  type: string; // scalar or message key; a map's value type
  repeated: boolean;
  mapKey?: string;
}

function fieldsOf(key: string): Field[] {
  const specs = MESSAGES[key];
  if (!specs) throw new Error(`no message ${key}`);
  return specs.map((spec) => {
    const [num, name, type] = spec.split(" ") as [string, string, string];
    if (type.startsWith("[")) return { num: Number(num), name, type: type.slice(1, -1), repeated: true };
    if (type.startsWith("{")) {
      const [k, v] = type.slice(1, -1).split(":") as [string, string];
      return { num: Number(num), name, type: v, repeated: false, mapKey: k };
    }
    return { num: Number(num), name, type, repeated: false };
  });
}

/** A message's fields by JSON name, inlined messages' fields included (as JSON sees them). */
function fieldsByName(key: string, out = new Map<string, Field>()): Map<string, Field> {
  for (const f of fieldsOf(key)) {
    if (f.name === "...") fieldsByName(f.type, out);
    else out.set(f.name, f);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A sample object: every schema field set to a distinct non-zero value of its protobuf type
// (zero values are left out of protobuf by design); parts the schema keeps Opaque or Unknown are
// filled from the message table instead, so the pass-through decoding is exercised as well.

/** Opaque and Unknown schema parts: kept as sent, so the message table says what they hold. */
const isOpaque = (s: Json) => s.type === undefined || (s.type === "object" && Object.keys((s.properties ?? {}) as object).length === 0);

function sampler() {
  let n = 0;
  const next = () => ++n;
  const time = (micro: boolean) => {
    const i = next();
    const base = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString().slice(0, 19);
    return micro ? `${base}.${String((i * 7919) % 1_000_000).padStart(6, "0")}Z` : `${base}Z`;
  };

  const elem = (s: Json | undefined, type: string, depth: number): unknown => {
    switch (type) {
      case "string": {
        const literal = ((s?.anyOf ?? []) as Json[]).find((a) => typeof a.const === "string");
        return literal ? literal.const : `v${next()}`;
      }
      case "bytes":
        return Buffer.from([next() % 256, 0, 255]).toString("base64");
      case "bool":
        return true;
      case "int32": {
        const i = next();
        return i % 7 === 0 ? -i : i; // negative int32s are ten-byte varints on the wire
      }
      case "int64": {
        const i = next();
        return i % 7 === 0 ? -(2 ** 40 + i) : 2 ** 33 + i;
      }
      case "meta.Time":
        return time(false);
      case "meta.MicroTime":
        return time(true);
      case "intstr.IntOrString": {
        const i = next();
        return i % 2 ? `${i}%` : i;
      }
      case "resource.Quantity":
        return `${next()}Mi`;
      case "meta.FieldsV1":
        return { [`f:v${next()}`]: {} };
      case "runtime.RawExtension":
        return { raw: next() };
      case "double":
        return next() + 0.5;
      case "apiextensions.JSON":
        return { value: next() };
      case "apiextensions.JSONSchemaPropsOrBool":
        return next() % 2 ? false : { type: `v${next()}` };
      case "apiextensions.JSONSchemaPropsOrArray":
        return { type: `v${next()}` };
      default:
        return message(s && !isOpaque(s) ? s : undefined, type, depth + 1);
    }
  };

  const field = (s: Json | undefined, f: Field, depth: number): unknown => {
    if (f.mapKey) {
      const value = s?.patternProperties ? (Object.values(s.patternProperties)[0] as Json) : undefined;
      return { [`key-${next()}`]: elem(value, f.type, depth) };
    }
    if (f.repeated) {
      const item = s?.items as Json | undefined;
      return [elem(item, f.type, depth), elem(item, f.type, depth)];
    }
    return elem(s, f.type, depth);
  };

  const message = (s: Json | undefined, key: string, depth: number, top = false): Json => {
    if (depth > 24) throw new Error(`sample of ${key} nests too deep`);
    const fields = fieldsByName(key);
    const out: Json = {};
    if (s) {
      for (const [name, prop] of Object.entries(s.properties as Record<string, Json>)) {
        if ((top || isEmbeddedKind(s)) && (name === "apiVersion" || name === "kind")) continue;
        const f = fields.get(name);
        if (!f) throw new Error(`${key}.${name}: not in the message table`);
        out[name] = field(prop, f, depth);
      }
    } else for (const [name, f] of fields) if (!(f.type === key && depth > 4)) out[name] = field(undefined, f, depth); // a recursive message (JSONSchemaProps) is sampled a few levels deep
    return out;
  };

  return (schema: TSchema, key: string) => message(schema as unknown as Json, key, 0, true);
}

// ---------------------------------------------------------------------------------------------
// JSON → protobuf as client-go writes it: every set field, zero values included.

const utf8 = new TextEncoder();

function encodeMessage(w: Writer, obj: Json, key: string): void {
  for (const f of fieldsOf(key)) {
    if (f.name === "...") {
      w.message(f.num, (m) => encodeMessage(m, obj, f.type));
      continue;
    }
    const v = obj[f.name];
    if (v === undefined) continue;
    if (f.mapKey)
      for (const [k, val] of Object.entries(v as Json))
        w.message(f.num, (e) => {
          encodeValue(e, 1, f.mapKey!, k);
          encodeValue(e, 2, f.type, val);
        });
    else if (f.repeated) for (const el of v as unknown[]) encodeValue(w, f.num, f.type, el);
    else encodeValue(w, f.num, f.type, v);
  }
}

function encodeValue(w: Writer, num: number, type: string, v: unknown): void {
  switch (type) {
    case "string":
      return w.bytes(num, utf8.encode(v as string));
    case "bytes":
      return w.bytes(num, Buffer.from(v as string, "base64"));
    case "bool":
      return w.oneofBool(num, v as boolean); // written even when false, as a set field is
    case "int32":
    case "int64":
      return v === 0 ? w.oneofBool(num, false) : w.int64(num, v as number); // a zero varint
    case "meta.Time":
    case "meta.MicroTime":
      return w.message(num, (m) => {
        if (v === null) return;
        const ms = Date.parse(v as string);
        m.int64(1, Math.floor(ms / 1000));
        const fraction = /\.(\d+)Z$/.exec(v as string)?.[1] ?? "";
        m.int64(2, Number(fraction.padEnd(9, "0").slice(0, 9)));
      });
    case "intstr.IntOrString":
      return w.message(num, (m) => {
        if (typeof v === "number") m.int64(2, v);
        else {
          m.int64(1, 1);
          m.string(3, v as string);
        }
      });
    case "resource.Quantity":
      return w.message(num, (m) => m.string(1, v as string));
    case "double":
      return w.double(num, v as number);
    case "meta.FieldsV1":
    case "apiextensions.JSON":
    case "runtime.RawExtension":
      return w.message(num, (m) => m.bytes(1, utf8.encode(JSON.stringify(v))));
    case "apiextensions.JSONSchemaPropsOrBool":
      return w.message(num, (m) => (typeof v === "boolean" ? m.oneofBool(1, v) : m.message(2, (s) => encodeMessage(s, v as Json, "apiextensions.JSONSchemaProps"))));
    case "apiextensions.JSONSchemaPropsOrArray":
      return w.message(num, (m) => m.message(1, (s) => encodeMessage(s, v as Json, "apiextensions.JSONSchemaProps")));
    default:
      return w.message(num, (m) => encodeMessage(m, v as Json, type));
  }
}

function encodeRaw(obj: Json, key: string): Uint8Array {
  const w = new Writer();
  encodeMessage(w, obj, key);
  return w.finish().slice();
}

/** The request body kubectl sends: "k8s\0", then runtime.Unknown{typeMeta, raw}. */
function envelope(apiVersion: string, kind: string, raw: Uint8Array): Uint8Array {
  const w = new Writer();
  w.message(1, (t) => {
    t.string(1, apiVersion);
    t.string(2, kind);
  });
  w.bytes(2, raw);
  const body = w.finish();
  const out = new Uint8Array(4 + body.length);
  out.set([0x6b, 0x38, 0x73, 0x00]);
  out.set(body, 4);
  return out;
}

// The served kinds, in every version they are served in, and the message each is written in.
const resources = servedResources(stored);
const kinds = resources.map((def) => ({ def, apiVersion: apiVersionOf(def), key: messageOf(def)! }));

/** Every leaf path of a JSON value, to show a sample covers its whole schema. */
function paths(v: unknown, at = ""): string[] {
  if (Array.isArray(v)) return v.flatMap((x) => paths(x, `${at}[]`));
  if (v && typeof v === "object" && Object.keys(v).length) return Object.entries(v).flatMap(([k, x]) => paths(x, `${at}.${k}`));
  return [at]; // a scalar, or an empty message (CustomResourceSubresourceStatus)
}

/** Every property path a schema declares (through lists and maps), Opaque parts as one path. */
function schemaPaths(s: Json, at = ""): string[] {
  if (s.type === "array") return schemaPaths(s.items as Json, `${at}[]`);
  if (s.type === "object" && s.properties && Object.keys(s.properties).length)
    return Object.entries(s.properties as Record<string, Json>)
      .filter(([k]) => !(at && isEmbeddedKind(s) && (k === "apiVersion" || k === "kind")))
      .flatMap(([k, p]) => schemaPaths(p, `${at}.${k}`));
  return [at];
}

describe("Kubernetes protobuf round trip of every served kind", () => {
  test("the list of served kinds is the registry's", () => {
    expect(kinds.length).toBe(resources.length);
    for (const { def, key } of kinds) expect(key in MESSAGES, `${def.kind}: ${key}`).toBe(true);
  });

  for (const { def, apiVersion, key } of kinds) {
    test(`${apiVersion} ${def.kind}: JSON → protobuf → JSON`, () => {
      const sample = { apiVersion, kind: def.kind, ...sampler()(def.schema, key) };
      // The sample is a valid instance of the schema's shape and sets every field it declares.
      const check = TypeCompiler.Compile(def.schema);
      expect([...check.Errors(sample)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
      const set = new Set(paths(sample).map((p) => p.replace(/\.key-\d+/g, "")));
      const covered = (p: string) => [...set].some((s) => s === p || s.startsWith(`${p}.`) || s.startsWith(`${p}[]`));
      expect(schemaPaths(def.schema as unknown as Json).filter((p) => !covered(p))).toEqual([]);

      const decoded = decodeKubernetesProtobuf(envelope(apiVersion, def.kind, encodeRaw(sample, key)));
      expect(decoded).toEqual(sample);
    });
  }
});
