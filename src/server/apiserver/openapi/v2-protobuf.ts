// A Swagger 2.0 document (as JSON) → the gnostic `openapi.v2.Document` protobuf message
// (github.com/google/gnostic-models, openapiv2/OpenAPIv2.proto): the form kubectl asks for with
// `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf` when it validates a
// `kind: List` on the client (kube-openapi's proto.NewOpenAPIData reads it).
//
// The field numbers below are the .proto's. The mapping follows gnostic's own JSON → proto
// compiler: maps become repeated `Named*` pairs in document order, `type` a TypeItem, `items` an
// ItemsItem, and every `x-` key a NamedAny whose Any carries the value as YAML text.
//
// Only what a Kubernetes-style document uses is encoded; any other key throws (naming its JSON
// path), so a future addition to openapi.ts fails its unit test instead of silently vanishing
// from what kubectl sees.
import { Writer } from "../protobuf/writer";

type Json = Record<string, unknown>;
type Handler = (w: Writer, value: any, path: string) => void;

const unsupported = (path: string) => new Error(`openapi v2 protobuf: ${path} is not encoded (not in the supported subset)`);

const isObject = (v: unknown): v is Json => !!v && typeof v === "object" && !Array.isArray(v);

/**
 * Writes `obj`'s keys through `handlers` in document order; `x-` keys go to the message's
 * `vendor_extension` field (when it has one), after the others, as gnostic does.
 */
function fields(w: Writer, obj: unknown, path: string, handlers: Record<string, Handler>, extensionField?: number): void {
  if (!isObject(obj)) throw new Error(`openapi v2 protobuf: ${path} is not an object`);
  const extensions: [string, unknown][] = [];
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined) continue;
    if (key.startsWith("x-") && extensionField !== undefined) extensions.push([key, value]);
    else if (Object.hasOwn(handlers, key)) handlers[key]!(w, value, `${path}.${key}`);
    else throw unsupported(`${path}.${key}`);
  }
  for (const [name, value] of extensions) w.message(extensionField!, (m) => namedAny(m, name, value));
}

// ---------------------------------------------------------------------------------------------
// Any: arbitrary JSON values (extensions, defaults, enum members) travel as YAML text.

/**
 * JSON in YAML flow style. Every JSON text is YAML, but ": " and ", " with a space keep it
 * unambiguous for YAML 1.1 parsers too (go-yaml v2, which kube-openapi reads extensions with).
 */
export function yamlFlow(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(yamlFlow).join(", ")}]`;
  if (isObject(value))
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}: ${yamlFlow(v)}`)
      .join(", ")}}`;
  return JSON.stringify(value ?? null);
}

/** Any { google.protobuf.Any value = 1; string yaml = 2; } */
const any = (w: Writer, value: unknown) => w.string(2, `${yamlFlow(value)}\n`);
/** NamedAny { string name = 1; Any value = 2; } */
const namedAny = (w: Writer, name: string, value: unknown) => {
  w.string(1, name);
  w.message(2, (m) => any(m, value));
};

const str = (field: number): Handler => (w, v, path) => {
  if (typeof v !== "string") throw new Error(`openapi v2 protobuf: ${path} is not a string`);
  w.string(field, v);
};
const strs = (field: number): Handler => (w, v, path) => {
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) throw new Error(`openapi v2 protobuf: ${path} is not a list of strings`);
  w.strings(field, v);
};
const bool = (field: number): Handler => (w, v) => w.bool(field, Boolean(v));
const int64 = (field: number): Handler => (w, v) => w.int64(field, Number(v));
const double = (field: number): Handler => (w, v) => w.double(field, Number(v));
const anyField = (field: number): Handler => (w, v) => w.message(field, (m) => any(m, v));
const anyList = (field: number): Handler => (w, v, path) => {
  if (!Array.isArray(v)) throw new Error(`openapi v2 protobuf: ${path} is not a list`);
  for (const item of v) w.message(field, (m) => any(m, item));
};
/** A JSON map → repeated `Named*` { string name = 1; T value = 2; } in `field`. */
const namedMap = (field: number, value: (w: Writer, v: any, path: string) => void): Handler => (w, map, path) => {
  if (!isObject(map)) throw new Error(`openapi v2 protobuf: ${path} is not an object`);
  for (const [name, v] of Object.entries(map)) {
    w.message(field, (m) => {
      m.string(1, name);
      m.message(2, (vm) => value(vm, v, `${path}[${JSON.stringify(name)}]`));
    });
  }
};

// ---------------------------------------------------------------------------------------------
// Schema.

/** ExternalDocs { description = 1; url = 2; vendor_extension = 3; } */
function writeExternalDocs(field: number): Handler {
  return (w, v, path) => w.message(field, (m) => fields(m, v, path, { description: str(1), url: str(2) }, 3));
}

const SCHEMA: Record<string, Handler> = {
  $ref: str(1),
  format: str(2),
  title: str(3),
  description: str(4),
  default: anyField(5),
  multipleOf: double(6),
  maximum: double(7),
  exclusiveMaximum: bool(8),
  minimum: double(9),
  exclusiveMinimum: bool(10),
  maxLength: int64(11),
  minLength: int64(12),
  pattern: str(13),
  maxItems: int64(14),
  minItems: int64(15),
  uniqueItems: bool(16),
  maxProperties: int64(17),
  minProperties: int64(18),
  required: strs(19),
  enum: anyList(20),
  // AdditionalPropertiesItem { oneof { Schema schema = 1; bool boolean = 2; } }
  additionalProperties: (w, v, path) =>
    w.message(21, (m) => (typeof v === "boolean" ? m.oneofBool(2, v) : m.message(1, (s) => schema(s, v, path)))),
  // TypeItem { repeated string value = 1; }
  type: (w, v, path) => w.message(22, (m) => strs(1)(m, Array.isArray(v) ? v : [v], path)),
  // ItemsItem { repeated Schema schema = 1; }: one schema, or a tuple's list of them
  items: (w, v, path) => w.message(23, (m) => (Array.isArray(v) ? v : [v]).forEach((s, i) => m.message(1, (sm) => schema(sm, s, `${path}[${i}]`)))),
  allOf: (w, v, path) => (v as unknown[]).forEach((s, i) => w.message(24, (m) => schema(m, s, `${path}[${i}]`))),
  // Properties { repeated NamedSchema additional_properties = 1; }
  properties: (w, v, path) => w.message(25, (m) => namedMap(1, schema)(m, v, path)),
  discriminator: str(26),
  readOnly: bool(27),
  externalDocs: writeExternalDocs(29),
  example: anyField(30),
};

/** Schema: vendor extensions in field 31. */
function schema(w: Writer, s: unknown, path: string): void {
  fields(w, s, path, SCHEMA, 31);
}

// ---------------------------------------------------------------------------------------------
// Parameters.

/**
 * The primitive-typed fields shared, in this order and numbered consecutively, by
 * PrimitivesItems (from 1) and the non-body parameter sub-schemas (query/formData from 6,
 * path/header from 5); the vendor extensions follow the last of them.
 */
const PRIMITIVE_KEYS = [
  "type",
  "format",
  "items",
  "collectionFormat",
  "default",
  "maximum",
  "exclusiveMaximum",
  "minimum",
  "exclusiveMinimum",
  "maxLength",
  "minLength",
  "pattern",
  "maxItems",
  "minItems",
  "uniqueItems",
  "enum",
  "multipleOf",
] as const;
const PRIMITIVE_KINDS: Record<(typeof PRIMITIVE_KEYS)[number], (field: number) => Handler> = {
  type: str,
  format: str,
  items: (field) => (w, v, path) => w.message(field, (m) => primitivesItems(m, v, path)),
  collectionFormat: str,
  default: anyField,
  maximum: double,
  exclusiveMaximum: bool,
  minimum: double,
  exclusiveMinimum: bool,
  maxLength: int64,
  minLength: int64,
  pattern: str,
  maxItems: int64,
  minItems: int64,
  uniqueItems: bool,
  enum: anyList,
  multipleOf: double,
};

/** The handlers for the primitive keys numbered from `first`, and the extension field after them. */
function primitiveHandlers(first: number): { handlers: Record<string, Handler>; extensions: number } {
  const handlers: Record<string, Handler> = {};
  PRIMITIVE_KEYS.forEach((key, i) => (handlers[key] = PRIMITIVE_KINDS[key](first + i)));
  return { handlers, extensions: first + PRIMITIVE_KEYS.length };
}

const PRIMITIVES_ITEMS = primitiveHandlers(1);
function primitivesItems(w: Writer, v: unknown, path: string): void {
  fields(w, v, path, PRIMITIVES_ITEMS.handlers, PRIMITIVES_ITEMS.extensions);
}

// QueryParameterSubSchema / FormDataParameterSubSchema: required 1, in 2, description 3, name 4,
// allow_empty_value 5, then the primitives from 6. Path/HeaderParameterSubSchema: the same
// without allow_empty_value, primitives from 5.
const WITH_EMPTY = primitiveHandlers(6);
const WITHOUT_EMPTY = primitiveHandlers(5);
const COMMON_PARAM = { required: bool(1), in: str(2), description: str(3), name: str(4) };
const QUERY_PARAM = { ...COMMON_PARAM, allowEmptyValue: bool(5), ...WITH_EMPTY.handlers };
const PATH_PARAM = { ...COMMON_PARAM, ...WITHOUT_EMPTY.handlers };
/** NonBodyParameter's oneof: header 1, formData 2, query 3, path 4. */
const NON_BODY: Record<string, { field: number; handlers: Record<string, Handler>; extensions: number }> = {
  header: { field: 1, handlers: PATH_PARAM, extensions: WITHOUT_EMPTY.extensions },
  formData: { field: 2, handlers: QUERY_PARAM, extensions: WITH_EMPTY.extensions },
  query: { field: 3, handlers: QUERY_PARAM, extensions: WITH_EMPTY.extensions },
  path: { field: 4, handlers: PATH_PARAM, extensions: WITHOUT_EMPTY.extensions },
};

/** BodyParameter { description 1; name 2; in 3; required 4; Schema schema 5; vendor_extension 6 } */
const BODY_PARAM: Record<string, Handler> = {
  description: str(1),
  name: str(2),
  in: str(3),
  required: bool(4),
  schema: (w, v, path) => w.message(5, (m) => schema(m, v, path)),
};

/** JsonReference { string _ref = 1; string description = 2; } */
const jsonReference = (w: Writer, v: unknown, path: string) => fields(w, v, path, { $ref: str(1), description: str(2) });

/** ParametersItem { oneof { Parameter parameter = 1; JsonReference json_reference = 2; } } */
function parametersItem(w: Writer, p: unknown, path: string): void {
  if (!isObject(p)) throw new Error(`openapi v2 protobuf: ${path} is not an object`);
  if (typeof p.$ref === "string") return w.message(2, (m) => jsonReference(m, p, path));
  // Parameter { oneof { BodyParameter body_parameter = 1; NonBodyParameter non_body_parameter = 2; } }
  w.message(1, (param) => {
    if (p.in === "body") return param.message(1, (m) => fields(m, p, path, BODY_PARAM, 6));
    const kind = NON_BODY[String(p.in)];
    if (!kind) throw unsupported(`${path}.in=${JSON.stringify(p.in)}`);
    param.message(2, (nb) => nb.message(kind.field, (m) => fields(m, p, path, kind.handlers, kind.extensions)));
  });
}

const parameters = (field: number): Handler => (w, v, path) => (v as unknown[]).forEach((p, i) => w.message(field, (m) => parametersItem(m, p, `${path}[${i}]`)));

// ---------------------------------------------------------------------------------------------
// Operations and paths.

/** Response { description 1; SchemaItem schema 2; ...; vendor_extension 5 }; SchemaItem { Schema schema = 1; ... } */
const RESPONSE: Record<string, Handler> = {
  description: str(1),
  schema: (w, v, path) => w.message(2, (item) => item.message(1, (m) => schema(m, v, path))),
};

/** Responses { repeated NamedResponseValue response_code = 1; repeated NamedAny vendor_extension = 2; } */
function responses(w: Writer, v: unknown, path: string): void {
  if (!isObject(v)) throw new Error(`openapi v2 protobuf: ${path} is not an object`);
  for (const [code, r] of Object.entries(v)) {
    const at = `${path}[${JSON.stringify(code)}]`;
    if (code.startsWith("x-")) {
      w.message(2, (m) => namedAny(m, code, r));
      continue;
    }
    w.message(1, (named) => {
      named.string(1, code);
      // ResponseValue { oneof { Response response = 1; JsonReference json_reference = 2; } }
      named.message(2, (rv) => {
        if (isObject(r) && typeof r.$ref === "string") rv.message(2, (m) => jsonReference(m, r, at));
        else rv.message(1, (m) => fields(m, r, at, RESPONSE, 5));
      });
    });
  }
}

/** SecurityRequirement { repeated NamedStringArray additional_properties = 1; }, StringArray { repeated string value = 1; } */
const security = (field: number): Handler => (w, v, path) =>
  (v as unknown[]).forEach((req, i) => w.message(field, (m) => namedMap(1, (sa, scopes, p) => strs(1)(sa, scopes, p))(m, req, `${path}[${i}]`)));

const OPERATION: Record<string, Handler> = {
  tags: strs(1),
  summary: str(2),
  description: str(3),
  externalDocs: writeExternalDocs(4),
  operationId: str(5),
  produces: strs(6),
  consumes: strs(7),
  parameters: parameters(8),
  responses: (w, v, path) => w.message(9, (m) => responses(m, v, path)),
  schemes: strs(10),
  deprecated: bool(11),
  security: security(12),
};
const operation = (field: number): Handler => (w, v, path) => w.message(field, (m) => fields(m, v, path, OPERATION, 13));

/** PathItem: $ref 1, get 2, put 3, post 4, delete 5, options 6, head 7, patch 8, parameters 9, extensions 10. */
const PATH_ITEM: Record<string, Handler> = {
  $ref: str(1),
  get: operation(2),
  put: operation(3),
  post: operation(4),
  delete: operation(5),
  options: operation(6),
  head: operation(7),
  patch: operation(8),
  parameters: parameters(9),
};

/** Paths { repeated NamedAny vendor_extension = 1; repeated NamedPathItem path = 2; } */
function paths(w: Writer, v: unknown, path: string): void {
  if (!isObject(v)) throw new Error(`openapi v2 protobuf: ${path} is not an object`);
  for (const [p, item] of Object.entries(v)) {
    if (p.startsWith("x-")) w.message(1, (m) => namedAny(m, p, item));
    else
      w.message(2, (named) => {
        named.string(1, p);
        named.message(2, (m) => fields(m, item, `${path}[${JSON.stringify(p)}]`, PATH_ITEM, 10));
      });
  }
}

// ---------------------------------------------------------------------------------------------
// Security definitions and the document.

/** SecurityDefinitionsItem's oneof: basic 1, apiKey 2 (the OAuth2 flows are not used here). */
function securityDefinitionsItem(w: Writer, v: unknown, path: string): void {
  const type = isObject(v) ? v.type : undefined;
  if (type === "basic") return w.message(1, (m) => fields(m, v, path, { type: str(1), description: str(2) }, 3));
  if (type === "apiKey") return w.message(2, (m) => fields(m, v, path, { type: str(1), name: str(2), in: str(3), description: str(4) }, 5));
  throw unsupported(`${path}.type=${JSON.stringify(type)}`);
}

/** Info: title 1, version 2, description 3, terms_of_service 4, (contact 5, license 6), extensions 7. */
const INFO: Record<string, Handler> = { title: str(1), version: str(2), description: str(3), termsOfService: str(4) };

/** Tag { name 1; description 2; ExternalDocs external_docs 3; vendor_extension 4 } */
const TAG: Record<string, Handler> = { name: str(1), description: str(2), externalDocs: writeExternalDocs(3) };

const DOCUMENT: Record<string, Handler> = {
  swagger: str(1),
  info: (w, v, path) => w.message(2, (m) => fields(m, v, path, INFO, 7)),
  host: str(3),
  basePath: str(4),
  schemes: strs(5),
  consumes: strs(6),
  produces: strs(7),
  paths: (w, v, path) => w.message(8, (m) => paths(m, v, path)),
  // Definitions { repeated NamedSchema additional_properties = 1; }
  definitions: (w, v, path) => w.message(9, (m) => namedMap(1, schema)(m, v, path)),
  security: security(12),
  // SecurityDefinitions { repeated NamedSecurityDefinitionsItem additional_properties = 1; }
  securityDefinitions: (w, v, path) => w.message(13, (m) => namedMap(1, securityDefinitionsItem)(m, v, path)),
  tags: (w, v, path) => (v as unknown[]).forEach((t, i) => w.message(14, (m) => fields(m, t, `${path}[${i}]`, TAG, 4))),
  externalDocs: writeExternalDocs(15),
};

/** The whole Swagger 2.0 document as an `openapi.v2.Document` message. Throws on keys it cannot encode. */
export function encodeOpenApiV2Document(doc: Json): Uint8Array {
  const w = new Writer();
  fields(w, doc, "$", DOCUMENT, 16);
  // A copy of exactly the bytes written: the writer's buffer grew by doubling, and this result is
  // kept for the server's lifetime.
  return w.finish().slice();
}
