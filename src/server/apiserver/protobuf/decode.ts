// A generic protobuf → JSON decoder driven by the field tables in messages.ts. The result is what
// the same object looks like as JSON from kubectl: JSON field names, unset fields absent, maps as
// objects, bytes as base64, and the few types with a custom JSON form (Time, Quantity, ...) in it.
import { MESSAGES } from "./messages";
import { jsonTooDeepText, MAX_DEPTH as MAX_JSON_DEPTH } from "../limits";
import { malformed, Reader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "./wire";

type Scalar = "string" | "bool" | "int32" | "int64" | "bytes" | "double";

/** Types whose JSON form is not a plain object of their fields. */
const SPECIAL = new Set([
  "meta.Time",
  "meta.MicroTime",
  "meta.FieldsV1",
  "intstr.IntOrString",
  "resource.Quantity",
  "runtime.RawExtension",
  "apiextensions.JSON",
  "apiextensions.JSONSchemaPropsOrArray",
  "apiextensions.JSONSchemaPropsOrBool",
]);

interface FieldDef {
  name: string;
  inline: boolean;
  type: string; // a scalar or a message key; for maps, the value type
  repeated: boolean;
  mapKey?: Scalar;
  omitZero: boolean;
}

type Table = Map<number, FieldDef>;
const tables = new Map<string, Table>();

function parseField(spec: string): [number, FieldDef] {
  const [num, name, type, flag] = spec.split(" ") as [string, string, string, string?];
  const def: FieldDef = { name, inline: name === "...", type, repeated: false, omitZero: flag === "z" };
  if (type.startsWith("[")) {
    def.repeated = true;
    def.type = type.slice(1, -1);
  } else if (type.startsWith("{")) {
    const [k, v] = type.slice(1, -1).split(":") as [string, string];
    def.mapKey = k as Scalar;
    def.type = v;
  }
  return [Number(num), def];
}

function tableOf(key: string): Table {
  let t = tables.get(key);
  if (!t) {
    const specs = MESSAGES[key];
    if (!specs) throw new Error(`protobuf: no field table for ${key}`);
    tables.set(key, (t = new Map(specs.map(parseField))));
  }
  return t;
}

/** Whether the decoder knows a message (by key, e.g. "core.Pod"). */
export const knowsMessage = (key: string) => key in MESSAGES;

/** Nested messages deeper than this are refused (the served kinds nest about 12 deep). */
const MAX_DEPTH = 64;

export interface DecodeHooks {
  /** Decodes an embedded object (RawExtension holding a k8s protobuf envelope). */
  embedded(bytes: Uint8Array, depth: number): unknown;
}

export function decodeMessage(buf: Uint8Array, key: string, hooks: DecodeHooks, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw malformed("messages nested too deeply");
  const r = new Reader(buf);
  if (SPECIAL.has(key)) return decodeSpecial(r, key, hooks, depth);
  const table = tableOf(key);
  const out: Record<string, unknown> = {};
  const inlined: Record<string, unknown>[] = [];
  while (!r.done) {
    const { field, wire } = r.tag();
    const def = table.get(field);
    if (!def) {
      r.skip(wire);
      continue;
    }
    if (def.mapKey) {
      expectWire(wire, WIRE_LEN, key, def);
      const [k, v] = readMapEntry(r, def, hooks, depth);
      const m = (out[def.name] ??= {}) as Record<string, unknown>;
      // defineProperty: a "__proto__" key is data (then validated like any key), never a prototype.
      Object.defineProperty(m, String(k), { value: v, writable: true, enumerable: true, configurable: true });
    } else if (def.inline) {
      expectWire(wire, WIRE_LEN, key, def);
      inlined.push(decodeMessage(r.bytes(), def.type, hooks, depth + 1) as Record<string, unknown>);
    } else if (def.repeated) {
      const list = (out[def.name] ??= []) as unknown[];
      if (wire === WIRE_LEN && isPackable(def.type)) {
        // Packed repeated numbers: a run of varints in one length-delimited field.
        const { start, end } = r.lengthDelimited();
        const packed = new Reader(r.buf, start, end);
        while (!packed.done) list.push(readValue(packed, def.type, hooks, depth));
      } else {
        expectWire(wire, wireOf(def.type), key, def);
        list.push(readValue(r, def.type, hooks, depth));
      }
    } else {
      expectWire(wire, wireOf(def.type), key, def);
      out[def.name] = readValue(r, def.type, hooks, depth);
    }
  }
  for (const def of table.values()) {
    if (def.omitZero && isZero(out[def.name])) delete out[def.name];
  }
  for (const extra of inlined) Object.assign(out, extra);
  return out;
}

const isPackable = (type: string) => type === "bool" || type === "int32" || type === "int64";
const wireOf = (type: string) => (isPackable(type) ? WIRE_VARINT : type === "double" ? WIRE_FIXED64 : WIRE_LEN);
const isZero = (v: unknown) => v === "" || v === 0 || v === false;

function expectWire(wire: number, expected: number, key: string, def: FieldDef) {
  if (wire !== expected) throw malformed(`field ${key}.${def.name} has wire type ${wire}, expected ${expected}`);
}

function readValue(r: Reader, type: string, hooks: DecodeHooks, depth: number): unknown {
  switch (type) {
    case "string":
      return r.string();
    case "bytes":
      return Buffer.from(r.bytes()).toString("base64");
    case "bool":
      return r.bool();
    case "int32":
      return r.int32();
    case "int64":
      return r.int64();
    case "double": {
      if (r.end - r.pos < 8) throw malformed("truncated double");
      const v = new DataView(r.buf.buffer, r.buf.byteOffset + r.pos, 8).getFloat64(0, true);
      r.pos += 8;
      return v;
    }
    default:
      return decodeMessage(r.bytes(), type, hooks, depth + 1);
  }
}

/** The zero value of a map entry's missing key or value (proto semantics). */
function zeroOf(type: string, hooks: DecodeHooks, depth: number): unknown {
  switch (type) {
    case "string":
    case "bytes":
      return "";
    case "bool":
      return false;
    case "int32":
    case "int64":
      return 0;
    default:
      return decodeMessage(new Uint8Array(0), type, hooks, depth + 1);
  }
}

function readMapEntry(r: Reader, def: FieldDef, hooks: DecodeHooks, depth: number): [unknown, unknown] {
  const { start, end } = r.lengthDelimited();
  const entry = new Reader(r.buf, start, end);
  let k: unknown, v: unknown;
  let hasKey = false, hasValue = false;
  while (!entry.done) {
    const { field, wire } = entry.tag();
    if (field === 1) {
      if (wire !== wireOf(def.mapKey!)) throw malformed(`map key of ${def.name} has wire type ${wire}`);
      k = readValue(entry, def.mapKey!, hooks, depth);
      hasKey = true;
    } else if (field === 2) {
      if (wire !== wireOf(def.type)) throw malformed(`map value of ${def.name} has wire type ${wire}`);
      v = readValue(entry, def.type, hooks, depth);
      hasValue = true;
    } else entry.skip(wire);
  }
  return [hasKey ? k : zeroOf(def.mapKey!, hooks, depth), hasValue ? v : zeroOf(def.type, hooks, depth)];
}

/** Reads a message's fields as raw values by number (for the special types' few scalar fields). */
function readFields(r: Reader, types: Record<number, Scalar>): Map<number, unknown> {
  const got = new Map<number, unknown>();
  while (!r.done) {
    const { field, wire } = r.tag();
    const type = types[field];
    if (!type) {
      r.skip(wire);
      continue;
    }
    if (wire !== wireOf(type)) throw malformed(`field ${field} has wire type ${wire}`);
    got.set(field, type === "bytes" ? r.bytes() : readValue(r, type, { embedded: () => undefined }, 0));
  }
  return got;
}

function decodeSpecial(r: Reader, key: string, hooks: DecodeHooks, depth: number): unknown {
  switch (key) {
    case "meta.Time":
    case "meta.MicroTime": {
      // An unset metav1.Time is written as an empty message; its JSON is null.
      if (r.done) return null;
      const f = readFields(r, { 1: "int64", 2: "int32" });
      return formatTime((f.get(1) as number) ?? 0, (f.get(2) as number) ?? 0, key === "meta.MicroTime");
    }
    case "intstr.IntOrString": {
      const f = readFields(r, { 1: "int64", 2: "int32", 3: "string" });
      return f.get(1) === 1 ? ((f.get(3) as string) ?? "") : ((f.get(2) as number) ?? 0);
    }
    case "resource.Quantity":
      return (readFields(r, { 1: "string" }).get(1) as string) ?? "0";
    case "apiextensions.JSONSchemaPropsOrArray": {
      // A schema, or a list of them (JSON says which by its form).
      let schema: unknown;
      const list: unknown[] = [];
      while (!r.done) {
        const { field, wire } = r.tag();
        if ((field === 1 || field === 2) && wire !== WIRE_LEN) throw malformed(`${key} field ${field} has wire type ${wire}`);
        if (field === 1) schema = decodeMessage(r.bytes(), "apiextensions.JSONSchemaProps", hooks, depth + 1);
        else if (field === 2) list.push(decodeMessage(r.bytes(), "apiextensions.JSONSchemaProps", hooks, depth + 1));
        else r.skip(wire);
      }
      return schema ?? list;
    }
    case "apiextensions.JSONSchemaPropsOrBool": {
      // A schema, or whether anything is allowed (true when neither is said, as upstream).
      let allows = true;
      let schema: unknown;
      while (!r.done) {
        const { field, wire } = r.tag();
        if (field === 1 && wire === WIRE_VARINT) allows = r.bool();
        else if (field === 2 && wire === WIRE_LEN) schema = decodeMessage(r.bytes(), "apiextensions.JSONSchemaProps", hooks, depth + 1);
        else if (field === 1 || field === 2) throw malformed(`${key} field ${field} has wire type ${wire}`);
        else r.skip(wire);
      }
      return schema ?? allows;
    }
    case "meta.FieldsV1":
    case "apiextensions.JSON":
    case "runtime.RawExtension": {
      const raw = readFields(r, { 1: "bytes" }).get(1) as Uint8Array | undefined;
      if (!raw || raw.length === 0) return key === "meta.FieldsV1" ? {} : null;
      if (key === "runtime.RawExtension" && raw[0] === 0x6b && raw[1] === 0x38 && raw[2] === 0x73 && raw[3] === 0) return hooks.embedded(raw, depth + 1);
      let text: string;
      let value: unknown;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
        value = JSON.parse(text);
      } catch {
        throw malformed(`${key} does not hold JSON`);
      }
      if (jsonTooDeepText(text)) throw malformed(`${key} nests deeper than ${MAX_JSON_DEPTH}`);
      return value;
    }
  }
  throw new Error(`protobuf: unhandled special type ${key}`);
}

/** metav1.Time as RFC3339 in seconds; metav1.MicroTime with six fractional digits (as upstream). */
function formatTime(seconds: number, nanos: number, micro: boolean): string {
  const d = new Date(seconds * 1000);
  const year = d.getUTCFullYear();
  if (!Number.isFinite(d.getTime()) || year < 0 || year > 9999) throw malformed(`timestamp ${seconds} out of range`);
  const base = d.toISOString().slice(0, 19);
  if (!micro) return `${base}Z`;
  const us = Math.max(0, Math.min(999_999, Math.floor(nanos / 1000)));
  return `${base}.${String(us).padStart(6, "0")}Z`;
}
