// Request bodies: size limit, JSON or YAML, and typed decoding against a resource's schema with
// upstream's three fieldValidation modes (Strict rejects unknown fields, Warn and Ignore drop them).
// The limits themselves (body, object, nesting, YAML aliases) are in limits.ts.
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { ValueErrorType } from "@sinclair/typebox/errors";
import { Value } from "@sinclair/typebox/value";
import type { TSchema } from "@sinclair/typebox";
import { ApiError, badRequest, unsupportedMediaType, type FieldError } from "../../api/errors";
import { bodyTooLarge, checkExpansion, excessiveAliasing, jsonTooDeep, jsonTooDeepText, MAX_BODY_BYTES } from "./limits";
import { decodeKubernetesProtobuf, PROTOBUF_MEDIA_TYPE } from "./protobuf";

export { MAX_BODY_BYTES } from "./limits";

export async function readBody(req: Request): Promise<string> {
  const bytes = await readBytes(req);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (e) {
    throw badRequest(`unable to read request body: ${(e as Error).message}`);
  }
}

/** The raw body, within the size limit (protobuf bodies are binary). */
export async function readBytes(req: Request): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw bodyTooLarge();
  try {
    // Read chunk by chunk: a chunked body (no Content-Length) is cut off at the limit instead of
    // being buffered whole first.
    if (!req.body) return new Uint8Array(0);
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) throw bodyTooLarge();
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw badRequest(`unable to read request body: ${(e as Error).message}`);
  }
}

const mediaType = (req: Request) => (req.headers.get("content-type") ?? "application/json").split(";")[0]!.trim().toLowerCase();

/** Parses a JSON, YAML or Kubernetes protobuf body into a value (create, update, DeleteOptions, subresource bodies). */
export async function parseBody(req: Request, allowed = ["application/json", "application/yaml", PROTOBUF_MEDIA_TYPE, "*/*", ""]): Promise<unknown> {
  const type = mediaType(req);
  if (!allowed.includes(type)) throw unsupportedMediaType(type);
  // kubectl's typed clients (create namespace/configmap/secret, run, expose, drain) send protobuf.
  if (type === PROTOBUF_MEDIA_TYPE) return decodeKubernetesProtobuf(await readBytes(req));
  const text = await readBody(req);
  if (text.trim() === "") throw badRequest("the request body is empty");
  return parseText(text, type);
}

export function parseText(text: string, type: string): unknown {
  const yaml = type.endsWith("yaml");
  let value: unknown;
  try {
    if (yaml) {
      const docs = Bun.YAML.parse(text);
      value = Array.isArray(docs) && text.includes("\n---") ? docs[0] : docs;
    } else {
      if (jsonTooDeepText(text)) throw jsonTooDeep();
      return JSON.parse(text);
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    // Bun's parser has an alias guard of its own: answer in the same words as the one below.
    if (yaml && /excessive aliasing/i.test((e as Error).message)) throw excessiveAliasing();
    if (yaml && e instanceof RangeError) throw badRequest("the body of the request could not be decoded as YAML: it nests too deeply");
    throw badRequest(`the body of the request could not be decoded as ${yaml ? "YAML" : "JSON"}: ${(e as Error).message}`);
  }
  // JSON decodes to a tree no bigger than its text; YAML's aliases can make a graph whose tree
  // is far bigger. Measure it without expanding it, then give the caller a plain tree (once it
  // is known to be small), so no two places of the object are the same JS value.
  if (checkExpansion(value).aliased) value = JSON.parse(JSON.stringify(value));
  return value;
}

export const patchMediaType = mediaType;

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export function fieldValidationOf(url: URL): FieldValidation {
  const v = url.searchParams.get("fieldValidation") ?? "Warn";
  if (v !== "Strict" && v !== "Warn" && v !== "Ignore")
    throw badRequest(`fieldValidation must be one of Strict, Warn or Ignore, got "${v}"`);
  return v;
}

/** How many decoding errors are looked at before an object is refused as beyond repair. */
export const MAX_DECODE_ERRORS = 1000;

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();
const checkerFor = (schema: TSchema) => {
  let c = compiled.get(schema);
  if (!c) compiled.set(schema, (c = TypeCompiler.Compile(schema)));
  return c;
};

/** "/spec/containers/0/image" → "spec.containers[0].image". */
export function fieldPath(pointer: string): string {
  let out = "";
  for (const raw of pointer.split("/").slice(1)) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    out += /^\d+$/.test(part) ? `[${part}]` : out ? `.${part}` : part;
  }
  return out;
}

const PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));
const unescapePointer = (part: string) => part.replace(/~1/g, "/").replace(/~0/g, "~");
const lastSegment = (pointer: string) => unescapePointer(pointer.slice(pointer.lastIndexOf("/") + 1));

/** Deletes the own property a JSON pointer names, if the path resolves through own properties. */
function deleteAt(root: object, pointer: string) {
  const parts = pointer.split("/").slice(1).map(unescapePointer);
  const last = parts.pop();
  let at: unknown = root;
  for (const part of parts) {
    if (at === null || typeof at !== "object" || !Object.prototype.hasOwnProperty.call(at, part)) return;
    at = (at as Record<string, unknown>)[part];
  }
  if (last !== undefined && at !== null && typeof at === "object" && Object.prototype.hasOwnProperty.call(at, last)) delete (at as Record<string, unknown>)[last];
}

export interface Decoded {
  warnings: string[];
  /** Required fields that are missing: reported as 422 Invalid together with semantic validation. */
  missing: FieldError[];
}

/**
 * Checks `obj` against the schema in place. Unknown fields: rejected (Strict) or removed with a
 * warning (Warn) or silently (Ignore). Wrong types: 400, as upstream's decoder answers.
 */
export function decodeObject(obj: unknown, schema: TSchema, mode: FieldValidation): Decoded {
  const result: Decoded = { warnings: [], missing: [] };
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw badRequest("the request body must be a JSON object");
  const checker = checkerFor(schema);
  if (checker.Check(obj)) return result;
  const unknown: string[] = [];
  const unknownPointers: string[] = [];
  const wrongType: string[] = [];
  let errors = 0;
  for (const err of checker.Errors(obj)) {
    // TypeBox spends microseconds and kilobytes on each error: a body of many small wrong
    // items must not cost seconds and gigabytes. Past the cap the object is refused outright.
    if (++errors > MAX_DECODE_ERRORS)
      throw badRequest(`the object could not be decoded: more than ${MAX_DECODE_ERRORS} errors, the first: ${[...unknown.map((f) => `unknown field "${f}"`), ...wrongType, ...result.missing.map((m) => `${m.field}: Required value`)].slice(0, 10).join("; ")}`);
    if (err.type === ValueErrorType.ObjectAdditionalProperties) {
      unknown.push(fieldPath(err.path)); // the path names the unexpected property itself
      unknownPointers.push(err.path);
    } else if (err.type === ValueErrorType.ObjectRequiredProperty) {
      result.missing.push({ field: fieldPath(err.path), type: "Required", message: "Required value" });
    } else {
      wrongType.push(`${fieldPath(err.path) || "<root>"}: ${err.message}`);
    }
  }
  if (unknown.length && mode === "Strict") throw badRequest(`strict decoding error: ${[...new Set(unknown)].map((f) => `unknown field "${f}"`).join(", ")}`);
  if (wrongType.length) throw badRequest(`the object could not be decoded: ${[...new Set(wrongType)].slice(0, 10).join("; ")}`);
  if (unknown.length) {
    Value.Clean(schema, obj);
    // Value.Clean asks `key in schema.properties`, true for every name on Object.prototype
    // ("__proto__", "constructor", "toString", ...): such keys survive it and go by their path.
    for (const pointer of unknownPointers) if (PROTOTYPE_NAMES.has(lastSegment(pointer))) deleteAt(obj, pointer);
    if (mode === "Warn") result.warnings.push(...new Set(unknown.map((f) => `unknown field "${f}"`)));
  }
  return result;
}
