// The OpenAPI documents kubectl downloads, built from the resource definitions' TypeBox schemas:
//
// - GET /openapi/v3 → a root listing one document per group-version (`api/v1`, `apis/apps/v1`)
//   with a `?hash=` URL, which kubectl caches by;
// - GET /openapi/v3/<gv> → an OpenAPI 3.0 document. kubectl 1.32 reads it to decide two things:
//   whether the server validates fields itself (a PATCH operation tagged with the kind's
//   `x-kubernetes-group-version-kind` lists a `fieldValidation` query parameter; then it sends
//   `fieldValidation=Strict` and skips client-side validation), and how to compute the strategic
//   merge patch for `apply` (the component schema tagged with the kind, walked property by
//   property — `properties`, `items`, `allOf[0].$ref` — for merge keys and strategies);
// - GET /openapi/v2 → the same content as Swagger 2.0, for clients that only speak v2.
//
// Names follow upstream (`io.k8s.api.core.v1.Pod`) so `kubectl explain` and generic tooling read
// them as usual. Nested schemas are inlined except ObjectMeta and the kinds themselves.
import type { TSchema } from "@sinclair/typebox";
import { createHash } from "node:crypto";
import { SUBRESOURCE_KINDS as S } from "../../api/kinds";
import type { ResourceDef } from "../../api/resource";
import { JobTemplateSpecSchema } from "../../api/resources/batch/cronjob";
import * as podSchemas from "../../api/resources/core/podspec.schema";
import { LabelSelectorSchema, ObjectMetaSchema, OwnerReferenceSchema } from "../../api/schema";
import { KUBERNETES_VERSION } from "./discovery";

type Json = Record<string, unknown>;
type Dialect = "v3" | "v2";

// ---------------------------------------------------------------------------------------------
// Names.

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
const N = {
  objectMeta: `${META}.ObjectMeta`,
  listMeta: `${META}.ListMeta`,
  status: `${META}.Status`,
  deleteOptions: `${META}.DeleteOptions`,
  patch: `${META}.Patch`,
  scale: componentName(S.scale, S.scale.kind),
  eviction: componentName(S.eviction, S.eviction.kind),
  binding: componentName(S.binding, S.binding.kind),
};

/** Upstream's Go package for a group: "" → core, "apps" → apps, "rbac.authorization.k8s.io" → rbac. */
function groupPackage(group: string): string {
  if (!group) return "io.k8s.api.core";
  if (group === "apiextensions.k8s.io") return "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions";
  if (group === "apiregistration.k8s.io") return "io.k8s.kube-aggregator.pkg.apis.apiregistration";
  return `io.k8s.api.${group.replace(/\.k8s\.io$/, "").split(".")[0]}`;
}

export function componentName(r: Pick<ResourceDef, "group" | "version">, kind: string) {
  return `${groupPackage(r.group)}.${r.version}.${kind}`;
}

/** "api/v1" or "apis/apps/v1": the keys of the /openapi/v3 root. */
export const groupVersionPath = (r: Pick<ResourceDef, "group" | "version">) => (r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`);

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
/** For operation ids and tags: "" → Core, "rbac.authorization.k8s.io" → RbacAuthorization. */
const groupWords = (group: string) => (group ? group.replace(/\.k8s\.io$/, "").split(".") : ["core"]);

// ---------------------------------------------------------------------------------------------
// TypeBox → OpenAPI schema conversion.

const KEPT = [
  "description",
  "format",
  "default",
  "enum",
  "pattern",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
];

interface Ctx {
  dialect: Dialect;
  /**
   * Schemas emitted as references rather than inline, by their JSON text: TypeBox's Optional()
   * clones the schema it wraps, so identity alone would miss `metadata: Optional(ObjectMeta)`.
   */
  named: Map<string, string>;
  /** Component name → the description its schema carries. */
  namedDocs: Map<string, unknown>;
  /** Nested schemas several kinds share (PodSpec, Container, LabelSelector), by JSON text: component name. */
  shared: Map<string, { name: string; schema: unknown }>;
  /** $id → component name, for TypeBox recursive types. */
  ids: Map<string, string>;
  /** Components discovered while converting (recursive types). */
  extra: Record<string, Json>;
  /** TypeBox $id'd schemas by id, from every schema converted in this document. */
  byId: Map<string, Json>;
  /** The package of the kind being converted ("io.k8s.api.apps.v1"), for schemas with a `title`. */
  pkg: string;
  /** Components made from a `title`, by name: the shape they were made from. */
  titled: Map<string, string>;
}

/** A schema's JSON text without its own description: a field that describes a shared type still matches it. */
const shapeOf = (schema: unknown) => JSON.stringify({ ...(schema as Json), description: undefined });

const refTo = (ctx: Ctx, name: string, description?: unknown, objectDefault = true): Json => {
  const target = ctx.dialect === "v3" ? `#/components/schemas/${name}` : `#/definitions/${name}`;
  // Upstream's v3 shape: `allOf: [{$ref}]` lets siblings (description, default) sit beside the ref,
  // and kubectl's patch-meta lookup resolves exactly allOf[0].$ref.
  const out: Json = ctx.dialect === "v3" ? { allOf: [{ $ref: target }] } : { $ref: target };
  if (typeof description === "string") out.description = description;
  if (ctx.dialect === "v3" && objectDefault) out.default = {};
  return out;
};

/**
 * Scalars upstream gives components of their own, so `kubectl explain` names them (`<IntOrString>`,
 * `map[string]Quantity`, `<Time>`) instead of `<Object>` or `<string>`.
 */
const SCALARS = {
  intOrString: {
    name: "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    description: "An integer or a string, such as a port number or a port name, or a count or a percentage.",
    v3: { oneOf: [{ type: "integer" }, { type: "string" }], format: "int-or-string" },
    v2: { type: "string", format: "int-or-string" },
  },
  quantity: {
    name: "io.k8s.apimachinery.pkg.api.resource.Quantity",
    description: "A fixed-point amount with an optional suffix: 250m, 64Mi, 1G, 2.",
    v3: { oneOf: [{ type: "string" }, { type: "number" }] },
    v2: { type: "string" },
  },
  time: {
    name: `${META}.Time`,
    description: "A point in time in RFC 3339 form, to the second, e.g. 2024-01-02T15:04:05Z.",
    v3: { type: "string", format: "date-time" },
    v2: { type: "string", format: "date-time" },
  },
} as const;

function scalarOf(s: Json): keyof typeof SCALARS | undefined {
  if (Array.isArray(s.anyOf) && s["x-kubernetes-int-or-string"]) {
    const types = new Set((s.anyOf as Json[]).map((m) => m.type));
    if (types.size === 2 && types.has("string") && types.has("integer")) return "intOrString";
    if (types.size === 2 && types.has("string") && types.has("number")) return "quantity";
  }
  if (s.type === "string" && s.format === "date-time") return "time";
  return undefined;
}

function convert(input: unknown, ctx: Ctx, inlineSelf = false): Json {
  if (!input || typeof input !== "object") return {};
  const s = input as Json;
  if (!inlineSelf && s.type === "object" && s.properties) {
    // A field's own description sits beside the ref; the component's is not repeated.
    const text = shapeOf(s);
    const named = ctx.named.get(text);
    const shared = named ? undefined : ctx.shared.get(text);
    const fieldDoc = (own: unknown) => (s.description !== undefined && s.description !== own ? s.description : undefined);
    if (named) return refTo(ctx, named, fieldDoc(ctx.namedDocs.get(named)));
    if (shared) {
      if (!(shared.name in ctx.extra)) {
        ctx.extra[shared.name] = {}; // taken before converting, for schemas that contain themselves
        ctx.extra[shared.name] = convert(shared.schema, ctx, true);
      }
      return refTo(ctx, shared.name, fieldDoc((shared.schema as Json).description));
    }
    // A nested type given upstream's name with `title` (e.g. StatefulSetUpdateStrategy) becomes a
    // component of the kind's package; a second, different shape under the same name stays inline.
    if (typeof s.title === "string") {
      const name = `${ctx.pkg}.${s.title}`;
      const before = ctx.titled.get(name);
      if (before === undefined && !(name in ctx.extra)) {
        ctx.titled.set(name, text);
        ctx.extra[name] = {};
        const { title: _title, description: _description, ...body } = s;
        ctx.extra[name] = convert(body, ctx, true);
      }
      if (ctx.titled.get(name) === text) return refTo(ctx, name, s.description);
    }
  }
  if (typeof s.$ref === "string") return refTo(ctx, recursiveComponent(s.$ref, ctx));
  const scalar = scalarOf(s);
  if (scalar) return refTo(ctx, SCALARS[scalar].name, s.description, false);

  const out: Json = {};
  for (const k of KEPT) if (k in s) out[k] = s[k];
  for (const [k, v] of Object.entries(s)) if (k.startsWith("x-")) out[k] = v;
  if (ctx.dialect === "v2") delete out["x-kubernetes-int-or-string"]; // v2 says it with format

  if ("const" in s) {
    // OpenAPI 3.0 and Swagger 2.0 have no const; a one-value enum says the same.
    out.type = typeof s.const === "number" ? (Number.isInteger(s.const) ? "integer" : "number") : typeof s.const;
    out.enum = [s.const];
    return out;
  }
  if (Array.isArray(s.anyOf)) {
    delete out["x-kubernetes-int-or-string"]; // convertUnion decides (quantities are plain strings)
    return Object.assign(out, convertUnion(s.anyOf as Json[], s, ctx));
  }
  if (Array.isArray(s.allOf)) {
    const parts = (s.allOf as Json[]).map((m) => convert(m, ctx));
    const properties = Object.assign({}, ...parts.map((p) => (p.properties as Json) ?? {}));
    const required = parts.flatMap((p) => (p.required as string[]) ?? []);
    return Object.assign(out, { type: "object", properties }, required.length ? { required } : {});
  }

  switch (s.type) {
    case "object": {
      out.type = "object";
      const props = s.properties as Record<string, unknown> | undefined;
      if (props && Object.keys(props).length) {
        out.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, convert(v, ctx)]));
        const required = ((s.required as string[]) ?? []).filter((k) => k in props);
        if (required.length) out.required = required;
      }
      const patterns = s.patternProperties as Record<string, unknown> | undefined;
      const valueSchema = patterns ? Object.values(patterns)[0] : s.additionalProperties;
      if (valueSchema && typeof valueSchema === "object") out.additionalProperties = convert(valueSchema, ctx);
      break;
    }
    case "array":
      out.type = "array";
      out.items = convert(s.items, ctx);
      break;
    case "string":
    case "integer":
    case "number":
    case "boolean":
      out.type = s.type;
      break;
    default:
      // Unknown/Any: no type, which OpenAPI reads as "anything".
      break;
  }
  return out;
}

/** Unions: `T | null`, enums of literals, int-or-string and quantities. */
function convertUnion(members: Json[], s: Json, ctx: Ctx): Json {
  const nonNull = members.filter((m) => m.type !== "null");
  const nullable = nonNull.length < members.length && ctx.dialect === "v3" ? { nullable: true } : {};
  const types = new Set(nonNull.map((m) => m.type));
  if (s["x-kubernetes-int-or-string"] || (types.size === 2 && types.has("string") && (types.has("integer") || types.has("number")))) {
    if (types.has("number") && !types.has("integer")) return { type: "string", ...nullable }; // resource.Quantity
    return ctx.dialect === "v3"
      ? { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }], ...nullable }
      : { type: "string", format: "int-or-string" };
  }
  if (nonNull.length > 0 && nonNull.every((m) => "const" in m) && types.size === 1)
    return { type: nonNull[0].type, enum: nonNull.map((m) => m.const), ...nullable };
  if (nonNull.length === 1) return { ...convert(nonNull[0], ctx), ...nullable };
  if (ctx.dialect === "v2") return {}; // Swagger 2.0 cannot say "one of"; leave it open
  return { anyOf: nonNull.map((m) => convert(m, ctx)), ...nullable };
}

/** A TypeBox recursive type ($id/$ref) becomes its own component, converted once. */
function recursiveComponent(id: string, ctx: Ctx): string {
  const existing = ctx.ids.get(id);
  if (existing) return existing;
  const name = `io.bramble.schema.${id.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
  ctx.ids.set(id, name);
  const target = ctx.byId.get(id);
  ctx.extra[name] = target ? convert(target, ctx, true) : { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  return name;
}

function collectIds(schema: unknown, into: Map<string, Json>, seen = new Set<unknown>()) {
  if (!schema || typeof schema !== "object" || seen.has(schema)) return;
  seen.add(schema);
  if (Array.isArray(schema)) return schema.forEach((v) => collectIds(v, into, seen));
  const s = schema as Json;
  if (typeof s.$id === "string") into.set(s.$id, s);
  for (const v of Object.values(s)) collectIds(v, into, seen);
}

// ---------------------------------------------------------------------------------------------
// Fixed components: the meta/v1 types every document refers to, and subresource kinds.

const API_VERSION_DOC = "APIVersion defines the versioned schema of this representation of an object.";
const KIND_DOC = "Kind is a string value representing the REST resource this object represents.";

const str = (description?: string): Json => (description ? { type: "string", description } : { type: "string" });
const int = (format: "int32" | "int64", description?: string): Json => ({ type: "integer", format, ...(description ? { description } : {}) });
const gvkList = (group: string, version: string, kind: string) => ({ "x-kubernetes-group-version-kind": [{ group, version, kind }] });

function fixedComponents(ctx: Ctx): Record<string, Json> {
  const ref = (name: string, description?: string) => refTo(ctx, name, description);
  const typeMeta = { apiVersion: str(API_VERSION_DOC), kind: str(KIND_DOC) };
  return {
    [N.objectMeta]: {
      ...convert(ObjectMetaSchema, ctx, true),
      description: "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
    },
    [N.listMeta]: {
      type: "object",
      description: "ListMeta describes metadata that synthetic resources must have, including lists.",
      properties: { continue: str(), remainingItemCount: int("int64"), resourceVersion: str(), selfLink: str() },
    },
    [N.status]: {
      type: "object",
      description: "Status is a return value for calls that don't return other objects.",
      properties: {
        ...typeMeta,
        code: int("int32", "Suggested HTTP return code for this status, 0 if not set."),
        details: {
          type: "object",
          properties: {
            causes: {
              type: "array",
              items: { type: "object", properties: { field: str(), message: str(), reason: str() } },
              "x-kubernetes-list-type": "atomic",
            },
            group: str(),
            kind: str(),
            name: str(),
            retryAfterSeconds: int("int32"),
            uid: str(),
          },
        },
        message: str(),
        metadata: ref(N.listMeta),
        reason: str(),
        status: str(),
      },
      ...gvkList("", "v1", "Status"),
    },
    [N.deleteOptions]: {
      type: "object",
      description: "DeleteOptions may be provided when deleting an API object.",
      properties: {
        ...typeMeta,
        dryRun: { type: "array", items: str(), "x-kubernetes-list-type": "atomic" },
        gracePeriodSeconds: int("int64"),
        orphanDependents: { type: "boolean" },
        preconditions: { type: "object", properties: { resourceVersion: str(), uid: str() } },
        propagationPolicy: str(),
      },
      ...gvkList("", "v1", "DeleteOptions"),
    },
    [N.patch]: { type: "object", description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body." },
    // v3 says "one of" with no type, as upstream: kubectl explain then shows the name (<IntOrString>).
    ...Object.fromEntries(Object.values(SCALARS).map((t) => [t.name, { description: t.description, ...t[ctx.dialect] }])),
  };
}

function subresourceComponents(ctx: Ctx, used: Set<string>): Record<string, Json> {
  const ref = (name: string) => refTo(ctx, name);
  const typeMeta = { apiVersion: str(), kind: str() };
  const all: Record<string, Json> = {
    [N.scale]: {
      type: "object",
      description: "Scale represents a scaling request for a resource.",
      properties: {
        ...typeMeta,
        metadata: ref(N.objectMeta),
        spec: { type: "object", properties: { replicas: int("int32", "replicas is the desired number of instances for the scaled object.") } },
        status: { type: "object", required: ["replicas"], properties: { replicas: int("int32"), selector: str("label query over pods, in the string form of a label selector.") } },
      },
      ...gvkList(S.scale.group, S.scale.version, S.scale.kind),
    },
    [N.eviction]: {
      type: "object",
      description: "Eviction evicts a pod from its node subject to certain policies and safety constraints.",
      properties: { ...typeMeta, deleteOptions: ref(N.deleteOptions), metadata: ref(N.objectMeta) },
      ...gvkList(S.eviction.group, S.eviction.version, S.eviction.kind),
    },
    [N.binding]: {
      type: "object",
      description: "Binding ties one object to another; for example, a pod is bound to a node by a scheduler.",
      required: ["target"],
      properties: {
        ...typeMeta,
        metadata: ref(N.objectMeta),
        target: { type: "object", properties: { apiVersion: str(), fieldPath: str(), kind: str(), name: str(), namespace: str(), resourceVersion: str(), uid: str() } },
      },
      ...gvkList(S.binding.group, S.binding.version, S.binding.kind),
    },
  };
  return Object.fromEntries(Object.entries(all).filter(([name]) => used.has(name)));
}

// ---------------------------------------------------------------------------------------------
// Paths and operations.

const gvk = (group: string, version: string, kind: string) => ({ "x-kubernetes-group-version-kind": { group, version, kind } });

interface Param {
  name: string;
  in: "query" | "path";
  description: string;
  type: "string" | "integer" | "boolean";
  required?: boolean;
}

const q = (name: string, description: string, type: Param["type"] = "string"): Param => ({ name, in: "query", description, type });
const P = {
  name: { name: "name", in: "path", description: "name of the resource", type: "string", required: true } as Param,
  namespace: { name: "namespace", in: "path", description: "object name and auth scope, such as for teams and projects", type: "string", required: true } as Param,
  pretty: q("pretty", "If 'true', then the output is pretty printed."),
  dryRun: q("dryRun", "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed"),
  fieldManager: q("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes."),
  // Its presence is what tells kubectl the server validates fields (see the header comment).
  fieldValidation: q(
    "fieldValidation",
    "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict",
  ),
  force: q("force", "Force is going to \"force\" Apply requests. It must be unset for non-apply patch requests.", "boolean"),
  gracePeriodSeconds: q("gracePeriodSeconds", "The duration in seconds before the object should be deleted.", "integer"),
  propagationPolicy: q("propagationPolicy", "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'."),
  orphanDependents: q("orphanDependents", "Deprecated: please use the PropagationPolicy.", "boolean"),
};
const LIST_PARAMS: Param[] = [
  q("allowWatchBookmarks", "allowWatchBookmarks requests watch events with type \"BOOKMARK\".", "boolean"),
  q("continue", "The continue option should be set when retrieving more results from the server."),
  q("fieldSelector", "A selector to restrict the list of returned objects by their fields. Defaults to everything."),
  q("labelSelector", "A selector to restrict the list of returned objects by their labels. Defaults to everything."),
  q("limit", "limit is a maximum number of responses to return for a list call.", "integer"),
  q("resourceVersion", "resourceVersion sets a constraint on what resource versions a request may be served from."),
  q("resourceVersionMatch", "resourceVersionMatch determines how resourceVersion is applied to list calls."),
  q("sendInitialEvents", "`sendInitialEvents=true` may be set together with `watch=true`.", "boolean"),
  q("timeoutSeconds", "Timeout for the list/watch call.", "integer"),
  q("watch", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.", "boolean"),
];
const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];
const PATCH_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation, P.force];
const DELETE_PARAMS = [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy];

/** The content types kubectl looks for on PATCH; strategic merge is what `apply` needs. */
const PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"];
const RESPONSE_TYPES = ["application/json", "application/yaml"];

function param(p: Param, dialect: Dialect): Json {
  const base: Json = { name: p.name, in: p.in, description: p.description };
  if (p.required) base.required = true;
  if (dialect === "v3") base.schema = { type: p.type, uniqueItems: true };
  else Object.assign(base, { type: p.type, uniqueItems: true });
  return base;
}

interface OpSpec {
  id: string;
  description: string;
  action: string;
  gvk: Json;
  params?: Param[];
  body?: { schema: string; types?: string[] };
  response?: string | "text";
  created?: boolean;
}

function operation(op: OpSpec, tag: string, ctx: Ctx): Json {
  const schemaRef = (name: string) => ({ $ref: ctx.dialect === "v3" ? `#/components/schemas/${name}` : `#/definitions/${name}` });
  const out: Json = { tags: [tag], description: op.description, operationId: op.id };
  if (op.params?.length) out.parameters = op.params.map((p) => param(p, ctx.dialect));
  const okSchema = op.response === "text" ? { type: "string" } : op.response ? schemaRef(op.response) : undefined;
  const responses: Json = {};
  for (const code of op.created ? ["200", "201", "202"] : ["200"]) {
    const description = { "200": "OK", "201": "Created", "202": "Accepted" }[code];
    if (ctx.dialect === "v3") {
      const types = op.response === "text" ? ["text/plain"] : RESPONSE_TYPES;
      responses[code] = { description, ...(okSchema ? { content: Object.fromEntries(types.map((t) => [t, { schema: okSchema }])) } : {}) };
    } else {
      responses[code] = { description, ...(okSchema ? { schema: okSchema } : {}) };
    }
  }
  responses["401"] = { description: "Unauthorized" };
  out.responses = responses;
  if (op.body) {
    const types = op.body.types ?? ["application/json", "application/yaml"];
    if (ctx.dialect === "v3") {
      out.requestBody = { content: Object.fromEntries(types.map((t) => [t, { schema: schemaRef(op.body!.schema) }])), required: true };
    } else {
      out.consumes = types;
      out.parameters = [...((out.parameters as Json[]) ?? []), { name: "body", in: "body", required: true, schema: schemaRef(op.body.schema) }];
    }
  }
  if (ctx.dialect === "v2") {
    out.produces = op.response === "text" ? ["text/plain"] : RESPONSE_TYPES;
    out.schemes = ["https"];
  }
  out["x-kubernetes-action"] = op.action;
  Object.assign(out, op.gvk);
  return out;
}

/** Every path of one resource, with operations shaped like upstream's. */
function resourcePaths(r: ResourceDef, ctx: Ctx, used: Set<string>): Record<string, Json> {
  const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const collection = `${prefix}${r.namespaced ? "/namespaces/{namespace}" : ""}/${r.plural}`;
  const item = `${collection}/{name}`;
  const words = groupWords(r.group);
  const tag = `${words[0]}${words.slice(1).map(capital).join("")}_${r.version}`;
  const gv = `${words.map(capital).join("")}${capital(r.version)}`;
  const ns = r.namespaced ? "Namespaced" : "";
  const kindGvk = gvk(r.group, r.version, r.kind);
  const kindRef = componentName(r, r.kind);
  const listRef = componentName(r, r.listKind);
  const scope = r.namespaced ? [P.namespace] : [];
  const pathParams = (extra: Param[]) => ({ parameters: [...extra, ...scope, P.pretty].map((p) => param(p, ctx.dialect)) });
  const op = (spec: OpSpec) => operation(spec, tag, ctx);
  const paths: Record<string, Json> = {};

  paths[collection] = {
    get: op({ id: `list${gv}${ns}${r.kind}`, description: `list or watch objects of kind ${r.kind}`, action: "list", gvk: kindGvk, params: LIST_PARAMS, response: listRef }),
    post: op({ id: `create${gv}${ns}${r.kind}`, description: `create a ${r.kind}`, action: "post", gvk: kindGvk, params: WRITE_PARAMS, body: { schema: kindRef }, response: kindRef, created: true }),
    delete: op({
      id: `delete${gv}Collection${ns}${r.kind}`,
      description: `delete collection of ${r.kind}`,
      action: "deletecollection",
      gvk: kindGvk,
      params: [...LIST_PARAMS.filter((p) => p.name !== "watch" && p.name !== "allowWatchBookmarks"), ...DELETE_PARAMS],
      body: { schema: N.deleteOptions },
      response: N.status,
    }),
    ...pathParams([]),
  };
  paths[item] = {
    get: op({ id: `read${gv}${ns}${r.kind}`, description: `read the specified ${r.kind}`, action: "get", gvk: kindGvk, response: kindRef }),
    put: op({ id: `replace${gv}${ns}${r.kind}`, description: `replace the specified ${r.kind}`, action: "put", gvk: kindGvk, params: WRITE_PARAMS, body: { schema: kindRef }, response: kindRef, created: true }),
    patch: op({ id: `patch${gv}${ns}${r.kind}`, description: `partially update the specified ${r.kind}`, action: "patch", gvk: kindGvk, params: PATCH_PARAMS, body: { schema: N.patch, types: PATCH_TYPES }, response: kindRef, created: true }),
    delete: op({ id: `delete${gv}${ns}${r.kind}`, description: `delete a ${r.kind}`, action: "delete", gvk: kindGvk, params: DELETE_PARAMS, body: { schema: N.deleteOptions }, response: N.status, created: true }),
    ...pathParams([P.name]),
  };
  if (r.namespaced) {
    paths[`${prefix}/${r.plural}`] = {
      get: op({ id: `list${gv}${r.kind}ForAllNamespaces`, description: `list or watch objects of kind ${r.kind}`, action: "list", gvk: kindGvk, params: LIST_PARAMS, response: listRef }),
      parameters: [param(P.pretty, ctx.dialect)],
    };
  }

  // Read/replace/patch on a subresource: /status keeps the kind, /scale speaks autoscaling/v1.
  const readWrite = (suffix: string, path: string, g: Json, body: string) => ({
    get: op({ id: `read${gv}${ns}${r.kind}${suffix}`, description: `read ${path} of the specified ${r.kind}`, action: "get", gvk: g, response: body }),
    put: op({ id: `replace${gv}${ns}${r.kind}${suffix}`, description: `replace ${path} of the specified ${r.kind}`, action: "put", gvk: g, params: WRITE_PARAMS, body: { schema: body }, response: body, created: true }),
    patch: op({ id: `patch${gv}${ns}${r.kind}${suffix}`, description: `partially update ${path} of the specified ${r.kind}`, action: "patch", gvk: g, params: PATCH_PARAMS, body: { schema: N.patch, types: PATCH_TYPES }, response: body, created: true }),
    ...pathParams([P.name]),
  });
  const post = (suffix: string, path: string, g: Json, body: string) => ({
    post: op({ id: `create${gv}${ns}${r.kind}${suffix}`, description: `create ${path} of a ${r.kind}`, action: "post", gvk: g, params: WRITE_PARAMS, body: { schema: body }, response: body, created: true }),
    ...pathParams([P.name]),
  });

  for (const sub of r.subresources) {
    const path = `${item}/${sub}`;
    switch (sub) {
      case "status":
        paths[path] = readWrite("Status", "status", kindGvk, kindRef);
        break;
      case "ephemeralcontainers":
        paths[path] = readWrite("Ephemeralcontainers", "ephemeralcontainers", kindGvk, kindRef);
        break;
      case "scale":
        used.add(N.scale);
        paths[path] = readWrite("Scale", "scale", gvk(S.scale.group, S.scale.version, S.scale.kind), N.scale);
        break;
      case "binding":
        used.add(N.binding);
        paths[path] = post("Binding", "binding", gvk(S.binding.group, S.binding.version, S.binding.kind), N.binding);
        break;
      case "eviction":
        used.add(N.eviction);
        paths[path] = post("Eviction", "eviction", gvk(S.eviction.group, S.eviction.version, S.eviction.kind), N.eviction);
        break;
      case "log":
        paths[path] = {
          get: op({
            id: `read${gv}${ns}${r.kind}Log`,
            description: `read log of the specified ${r.kind}`,
            action: "get",
            gvk: kindGvk,
            params: [
              q("container", "The container for which to stream logs."),
              q("follow", "Follow the log stream of the pod.", "boolean"),
              q("limitBytes", "If set, the number of bytes to read from the server before terminating the log output.", "integer"),
              q("previous", "Return previous terminated container logs.", "boolean"),
              q("sinceSeconds", "A relative time in seconds before the current time from which to show logs.", "integer"),
              q("tailLines", "If set, the number of lines from the end of the logs to show.", "integer"),
              q("timestamps", "If true, add an RFC3339 timestamp at the beginning of every line.", "boolean"),
            ],
            response: "text",
          }),
          ...pathParams([P.name]),
        };
        break;
      case "exec": {
        const execParams = [
          q("command", "Command is the remote command to execute."),
          q("container", "Container in which to execute the command."),
          q("stderr", "Redirect the standard error stream of the pod for this call.", "boolean"),
          q("stdin", "Redirect the standard input stream of the pod for this call.", "boolean"),
          q("stdout", "Redirect the standard output stream of the pod for this call.", "boolean"),
          q("tty", "TTY if true indicates that a tty will be allocated for the exec call.", "boolean"),
        ];
        const execGvk = gvk("", "v1", "PodExecOptions");
        paths[path] = {
          get: op({ id: `connect${gv}GetNamespacedPodExec`, description: `connect GET requests to exec of ${r.kind}`, action: "connect", gvk: execGvk, params: execParams, response: "text" }),
          post: op({ id: `connect${gv}PostNamespacedPodExec`, description: `connect POST requests to exec of ${r.kind}`, action: "connect", gvk: execGvk, params: execParams, response: "text" }),
          ...pathParams([P.name]),
        };
        break;
      }
      case "attach": {
        const attachParams = [
          q("container", "The container in which to execute the command. Defaults to only container if there is only one container in the pod."),
          q("stderr", "Stderr if true indicates that stderr is to be redirected for the attach call. Defaults to true.", "boolean"),
          q("stdin", "Stdin if true, redirects the standard input stream of the pod for this call. Defaults to false.", "boolean"),
          q("stdout", "Stdout if true indicates that stdout is to be redirected for the attach call. Defaults to true.", "boolean"),
          q("tty", "TTY if true indicates that a tty will be allocated for the attach call. This is passed through the container runtime so the tty is allocated on the worker node by the container runtime. Defaults to false.", "boolean"),
        ];
        const attachGvk = gvk("", "v1", "PodAttachOptions");
        paths[path] = {
          get: op({ id: `connect${gv}GetNamespacedPodAttach`, description: `connect GET requests to attach of ${r.kind}`, action: "connect", gvk: attachGvk, params: attachParams, response: "text" }),
          post: op({ id: `connect${gv}PostNamespacedPodAttach`, description: `connect POST requests to attach of ${r.kind}`, action: "connect", gvk: attachGvk, params: attachParams, response: "text" }),
          ...pathParams([P.name]),
        };
        break;
      }
      case "portforward": {
        const pfParams = [q("ports", "List of ports to forward Required when using WebSockets", "integer")];
        const pfGvk = gvk("", "v1", "PodPortForwardOptions");
        paths[path] = {
          get: op({ id: `connect${gv}GetNamespacedPodPortforward`, description: `connect GET requests to portforward of ${r.kind}`, action: "connect", gvk: pfGvk, params: pfParams, response: "text" }),
          post: op({ id: `connect${gv}PostNamespacedPodPortforward`, description: `connect POST requests to portforward of ${r.kind}`, action: "connect", gvk: pfGvk, params: pfParams, response: "text" }),
          ...pathParams([P.name]),
        };
        break;
      }
    }
  }
  return paths;
}

// ---------------------------------------------------------------------------------------------
// Documents.

/** What the envelope fields every kind shares mean, for `kubectl explain <kind>`; a schema's own description wins. */
function describeEnvelope(kind: Json, r: ResourceDef): Json {
  const props = kind.properties as Record<string, Json> | undefined;
  if (!props) return kind;
  const docs: Record<string, string> = {
    apiVersion: API_VERSION_DOC,
    kind: KIND_DOC,
    metadata: "Standard object metadata: name, namespace, labels, annotations, owners, and what the server records about the object.",
    spec: `The desired state of the ${r.kind}, as its user declares it.`,
    status: `The state of the ${r.kind} as last observed by the system. Read-only for users.`,
  };
  const described = Object.fromEntries(
    // A custom resource's spec and status say what its CRD says, nothing more.
    Object.entries(props).map(([k, v]) => [k, k in docs && v.description === undefined && !(r.publishedSchema && (k === "spec" || k === "status")) ? { ...v, description: docs[k] } : v]),
  );
  return { ...kind, properties: described };
}

function kindComponents(r: ResourceDef, ctx: Ctx): Record<string, Json> {
  ctx.pkg = componentName(r, "").slice(0, -1);
  const kind = describeEnvelope(convert(r.schema, ctx, true), r);
  return {
    [componentName(r, r.kind)]: { ...kind, ...gvkList(r.group, r.version, r.kind) },
    [componentName(r, r.listKind)]: {
      type: "object",
      description: `${r.listKind} is a list of ${r.kind} objects.`,
      required: ["items"],
      properties: {
        apiVersion: str(API_VERSION_DOC),
        items: { type: "array", items: refTo(ctx, componentName(r, r.kind)), description: `The ${r.kind} objects.` },
        kind: str(KIND_DOC),
        metadata: refTo(ctx, N.listMeta, "Standard list metadata: the resourceVersion of the list and the token to continue it."),
      },
      ...gvkList(r.group, r.version, r.listKind),
    },
  };
}

/**
 * Nested schemas under upstream's names, emitted as components where a document uses them, so
 * `kubectl explain` shows `<PodTemplateSpec>`, `<[]Container>`, `<LabelSelector>` as upstream does.
 * The pod schemas are exported as `<UpstreamName>Schema`.
 */
let sharedSchemas: Map<string, { name: string; schema: unknown }> | undefined;
function shared() {
  if (!sharedSchemas) {
    const isObject = (v: unknown): v is Json => !!v && typeof v === "object" && (v as Json).type === "object" && !!(v as Json).properties;
    const entries: [string, unknown][] = [
      [`${META}.LabelSelector`, LabelSelectorSchema],
      [`${META}.OwnerReference`, OwnerReferenceSchema],
      ["io.k8s.api.batch.v1.JobTemplateSpec", JobTemplateSpecSchema],
      ...Object.entries(podSchemas)
        .filter(([k, v]) => k.endsWith("Schema") && isObject(v))
        .map(([k, v]): [string, unknown] => [`io.k8s.api.core.v1.${k.slice(0, -"Schema".length)}`, v]),
    ];
    sharedSchemas = new Map();
    for (const [name, schema] of entries) {
      const text = shapeOf(schema);
      if (!sharedSchemas.has(text)) sharedSchemas.set(text, { name, schema });
    }
  }
  return sharedSchemas;
}

/**
 * `defs` are the document's own kinds; the others of `all` are components too where the document
 * uses them (a StatefulSet's volumeClaimTemplates are PersistentVolumeClaims), as upstream.
 */
function newCtx(dialect: Dialect, defs: readonly ResourceDef[], all: readonly ResourceDef[] = defs): Ctx {
  const named = new Map<string, string>([[shapeOf(ObjectMetaSchema), N.objectMeta]]);
  const namedDocs = new Map<string, unknown>();
  for (const r of defs) {
    named.set(shapeOf(r.schema), componentName(r, r.kind));
    namedDocs.set(componentName(r, r.kind), (r.schema as Json).description);
  }
  const byId = new Map<string, Json>();
  for (const r of all) collectIds(r.schema, byId);
  type Entry = [string, { name: string; schema: unknown }];
  const entry = (r: ResourceDef, name: string, schema: unknown): Entry => [shapeOf(schema), { name: componentName(r, name), schema }];
  const local: Entry[] = all.filter((r) => !defs.includes(r)).map((r) => entry(r, r.kind, r.schema));
  // Every kind's spec and status under upstream's <Kind>Spec/<Kind>Status, wherever they appear
  // (a CronJob's jobTemplate.spec is a JobSpec).
  // A custom resource's (published from its CRD) stay inline, as upstream publishes them.
  for (const r of all) {
    if (r.publishedSchema) continue;
    for (const [field, suffix] of [["spec", "Spec"], ["status", "Status"]] as const) {
      const part = ((r.schema as Json).properties as Record<string, Json> | undefined)?.[field];
      if (part?.type === "object" && part.properties) local.push(entry(r, `${r.kind}${suffix}`, part));
    }
  }
  const sharedHere = new Map(shared());
  for (const [text, e] of local) if (!sharedHere.has(text)) sharedHere.set(text, e);
  return { dialect, named, namedDocs, shared: sharedHere, ids: new Map(), extra: {}, byId, pkg: defs[0] ? componentName(defs[0], "").slice(0, -1) : "io.bramble.schema", titled: new Map() };
}

/** Components and paths for some resources, in one dialect. */
function build(dialect: Dialect, defs: ResourceDef[], all: readonly ResourceDef[] = defs) {
  const ctx = newCtx(dialect, defs, all);
  const used = new Set<string>();
  const paths: Record<string, Json> = {};
  const schemas: Record<string, Json> = fixedComponents(ctx);
  for (const r of defs) {
    Object.assign(paths, resourcePaths(r, ctx, used));
    Object.assign(schemas, kindComponents(r, ctx));
  }
  Object.assign(schemas, subresourceComponents(ctx, used), ctx.extra);
  return { paths: sortKeys(paths), schemas: sortKeys(schemas) };
}

const sortKeys = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

const info = () => ({ title: "Kubernetes", version: KUBERNETES_VERSION.gitVersion });

function buildV3(defs: ResourceDef[], all: readonly ResourceDef[]): Json {
  const { paths, schemas } = build("v3", defs, all);
  return {
    openapi: "3.0.0",
    info: info(),
    paths,
    components: {
      schemas,
      securitySchemes: { BearerToken: { type: "apiKey", description: "Bearer Token authentication", name: "authorization", in: "header" } },
    },
    security: [{ BearerToken: [] }],
  };
}

function buildV2(defs: ResourceDef[]): Json {
  const { paths, schemas } = build("v2", defs);
  return {
    swagger: "2.0",
    info: info(),
    paths,
    definitions: schemas,
    securityDefinitions: { BearerToken: { type: "apiKey", description: "Bearer Token authentication", name: "authorization", in: "header" } },
    security: [{ BearerToken: [] }],
  };
}

// ---------------------------------------------------------------------------------------------
// Cached public API. The documents only depend on the (static) resource list.

interface V3Entry {
  doc: Json;
  json: string;
  hash: string;
}
interface Built {
  v3: Map<string, V3Entry>;
  root?: { paths: Record<string, { serverRelativeURL: string }> };
  v2?: { doc: Json; json: string };
}

const cache = new WeakMap<readonly ResourceDef[], Built>();
const built = (defs: readonly ResourceDef[]): Built => {
  let b = cache.get(defs);
  if (!b) cache.set(defs, (b = { v3: new Map() }));
  return b;
};

/** Upstream's hash: upper-case hex SHA-512 of the served bytes. Clients only compare it. */
const hashOf = (text: string) => createHash("sha512").update(text).digest("hex").toUpperCase();

/** The group-version paths served ("api/v1", "apis/apps/v1"), in registry order. */
export function openapiV3GroupVersions(defs: readonly ResourceDef[]): string[] {
  return [...new Set(defs.map(groupVersionPath))];
}

function v3Entry(defs: readonly ResourceDef[], gvPath: string): V3Entry | undefined {
  const b = built(defs);
  const key = gvPath.replace(/^\/+|\/+$/g, "");
  let e = b.v3.get(key);
  if (!e) {
    const members = defs.filter((r) => groupVersionPath(r) === key);
    if (!members.length) return undefined;
    const doc = buildV3(members, defs);
    const json = JSON.stringify(doc);
    e = { doc, json, hash: hashOf(json) };
    b.v3.set(key, e);
  }
  return e;
}

/** GET /openapi/v3: `{paths: {"api/v1": {serverRelativeURL: "/openapi/v3/api/v1?hash=..."}}}`. */
export function openapiV3Root(defs: readonly ResourceDef[]): { paths: Record<string, { serverRelativeURL: string }> } {
  const b = built(defs);
  if (!b.root) {
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const gv of openapiV3GroupVersions(defs)) paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${v3Entry(defs, gv)!.hash}` };
    b.root = { paths };
  }
  return b.root;
}

/** GET /openapi/v3/<gvPath> ("api/v1", "apis/apps/v1"); undefined for a group-version not served. */
export const openapiV3 = (defs: readonly ResourceDef[], gvPath: string): Json | undefined => v3Entry(defs, gvPath)?.doc;

/** The same document already serialized (it is large; serialize once). */
export const openapiV3Json = (defs: readonly ResourceDef[], gvPath: string): string | undefined => v3Entry(defs, gvPath)?.json;

/** The `hash` the root advertises for a group-version (serve it as the ETag too). */
export const openapiV3Hash = (defs: readonly ResourceDef[], gvPath: string): string | undefined => v3Entry(defs, gvPath)?.hash;

function v2Entry(defs: readonly ResourceDef[]) {
  const b = built(defs);
  if (!b.v2) {
    const doc = buildV2([...defs]);
    b.v2 = { doc, json: JSON.stringify(doc) };
  }
  return b.v2;
}

/** GET /openapi/v2 as JSON (Swagger 2.0, every group-version in one document). */
export const openapiV2 = (defs: readonly ResourceDef[]): Json => v2Entry(defs).doc;
export const openapiV2Json = (defs: readonly ResourceDef[]): string => v2Entry(defs).json;

/** Exposed for tests and tooling: the OpenAPI 3 form of one TypeBox schema, inlined. */
export const toOpenApiV3Schema = (schema: TSchema): Json => convert(schema, newCtx("v3", []), true);
