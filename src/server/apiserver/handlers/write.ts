// create, update, patch, delete and deletecollection over HTTP. The rules for objects live in
// objects/; this file only decodes requests and encodes answers.
import { ApiError, badRequest } from "../../../api/errors";
import type { KubeObject } from "../../../api/meta";
import { apiVersionOf, type ResourceDef } from "../../../api/resource";
import { decodeObject, fieldValidationOf, parseBody, parseText, patchMediaType, readBody, readBytes, type Decoded } from "../body";
import { decodeKubernetesProtobuf, PROTOBUF_MEDIA_TYPE } from "../protobuf";
import type { DeleteOptions, PropagationPolicy } from "../objects/delete";
import type { UpdateOptions } from "../objects/objects";
import { applyPatch } from "../patch";
import { boolParam, intParam, isDryRun, objectFilter } from "../query";
import type { ApiContext } from "./context";
import { json } from "./respond";
import { fromStored, storedDef, toStored } from "./versions";

const PATCH_TYPES = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
];

/** An object must name this resource's apiVersion and kind, or leave them empty. */
export function checkKind(def: ResourceDef, body: unknown): KubeObject {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("the request body must be a JSON object");
  const obj = body as KubeObject;
  const expected = apiVersionOf(def);
  if (obj.apiVersion !== undefined && obj.apiVersion !== expected)
    throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${expected})`);
  if (obj.kind !== undefined && obj.kind !== def.kind)
    throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${def.kind})`);
  obj.apiVersion = expected;
  obj.kind = def.kind;
  if (obj.metadata !== undefined && (typeof obj.metadata !== "object" || obj.metadata === null || Array.isArray(obj.metadata)))
    throw badRequest("metadata must be an object");
  obj.metadata ??= {};
  return obj;
}

function checkNamespace(def: ResourceDef, obj: KubeObject, namespace: string | undefined) {
  if (def.namespaced && obj.metadata.namespace && obj.metadata.namespace !== namespace)
    throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
}

/**
 * The request's object as stored. An object of another version than the stored one is converted,
 * and what the conversion built (from annotations a client may have written) is decoded against
 * the stored schema as well: unknown fields dropped, as Go's decoder does; wrong types a 400.
 */
function storedForm(def: ResourceDef, obj: KubeObject, decoded: Decoded): KubeObject {
  if (!def.servedAs) return obj;
  const stored = toStored(def, obj);
  decoded.missing.push(...decodeObject(stored, storedDef(def).schema, "Ignore").missing.filter((m) => !decoded.missing.some((d) => d.field === m.field)));
  return stored;
}

/** The fields a kind drops beyond its schema's (a custom resource's pruning), as `fieldValidation` says. */
function checkUnknownFields(def: ResourceDef, obj: KubeObject, decoded: Decoded, mode: ReturnType<typeof fieldValidationOf>) {
  if (!def.unknownFields || mode === "Ignore") return;
  const unknown = def.unknownFields(obj).map((f) => `unknown field "${f}"`);
  if (!unknown.length) return;
  if (mode === "Strict") throw badRequest(`strict decoding error: ${unknown.join(", ")}`);
  decoded.warnings.push(...unknown);
}

const warningHeaders = (d: Decoded): Record<string, string> =>
  d.warnings.length ? { warning: d.warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(", ") } : {};

/**
 * A write without a resourceVersion (a patch, an update, a scale) is applied to whatever is
 * stored: a conflict (another write got in between) is retried on the fresh object, as
 * upstream's GuaranteedUpdate does, for as long as it keeps losing races (one winner per group
 * commit), within a bound.
 */
export const WRITE_RETRY_MS = 10_000;

export async function createObject(ctx: ApiContext, req: Request, url: URL, def: ResourceDef, namespace: string | undefined) {
  const mode = fieldValidationOf(url);
  const dryRun = isDryRun(url);
  const obj = checkKind(def, await parseBody(req));
  const decoded = decodeObject(obj, def.schema, mode);
  checkUnknownFields(def, obj, decoded, mode);
  checkNamespace(def, obj, namespace);
  const created = await ctx.objects.create(storedDef(def), namespace, storedForm(def, obj, decoded), { dryRun, missing: decoded.missing });
  return json(fromStored(def, created), 201, warningHeaders(decoded));
}

export async function updateObject(ctx: ApiContext, req: Request, url: URL, def: ResourceDef, namespace: string | undefined, name: string, subresource: UpdateOptions["subresource"] = "") {
  const mode = fieldValidationOf(url);
  const dryRun = isDryRun(url);
  const obj = checkKind(def, await parseBody(req));
  const decoded = decodeObject(obj, def.schema, mode);
  checkUnknownFields(def, obj, decoded, mode);
  checkNamespace(def, obj, namespace);
  if (obj.metadata.name !== undefined && obj.metadata.name !== name)
    throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
  // Without a resourceVersion (an unconditional update, which upstream allows for every built-in
  // kind) the object applies to whatever is stored, so a lost race is redone like a patch's.
  const deadline = Date.now() + WRITE_RETRY_MS;
  for (;;) {
    try {
      const updated = await ctx.objects.update(storedDef(def), namespace, name, storedForm(def, structuredClone(obj), decoded), { dryRun, subresource, missing: decoded.missing });
      return json(fromStored(def, updated), 200, warningHeaders(decoded));
    } catch (e) {
      if (!(e instanceof ApiError) || e.reason !== "Conflict" || obj.metadata.resourceVersion || Date.now() > deadline) throw e;
    }
  }
}

export async function patchObject(ctx: ApiContext, req: Request, url: URL, def: ResourceDef, namespace: string | undefined, name: string, subresource: UpdateOptions["subresource"] = "") {
  const type = patchMediaType(req);
  if (type === "application/apply-patch+yaml")
    throw new ApiError(415, "UnsupportedMediaType", "server-side apply is not supported yet; use client-side `kubectl apply`");
  if (!PATCH_TYPES.includes(type))
    throw new ApiError(415, "UnsupportedMediaType", `the patch content type "${type}" is not supported; use one of ${PATCH_TYPES.join(", ")}`);
  const mode = fieldValidationOf(url);
  const dryRun = isDryRun(url);
  const patch = parseText(await readBody(req), "application/json");
  const deadline = Date.now() + WRITE_RETRY_MS;
  for (;;) {
    // The patch applies to the object in the version of the path.
    const current = fromStored(def, ctx.objects.get(storedDef(def), namespace, name));
    const patched = checkKind(def, applyPatch(type, current, patch, def.schema) as unknown);
    const decoded = decodeObject(patched, def.schema, mode);
    checkUnknownFields(def, patched, decoded, mode);
    try {
      const updated = await ctx.objects.update(storedDef(def), namespace, name, storedForm(def, patched, decoded), { dryRun, subresource, missing: decoded.missing });
      return json(fromStored(def, updated), 200, warningHeaders(decoded));
    } catch (e) {
      const pinned = patched.metadata.resourceVersion !== current.metadata.resourceVersion;
      if (!(e instanceof ApiError) || e.reason !== "Conflict" || pinned || Date.now() > deadline) throw e;
    }
  }
}

async function deleteOptions(req: Request, url: URL): Promise<DeleteOptions> {
  let body: Record<string, unknown> = {};
  if (req.headers.get("content-length") !== "0" && req.body) {
    const bytes = patchMediaType(req) === PROTOBUF_MEDIA_TYPE ? await readBytes(req) : undefined; // typed clients
    const text = bytes ? "" : await readBody(req);
    if (bytes?.length || text.trim()) {
      const parsed = bytes ? decodeKubernetesProtobuf(bytes) : parseText(text, patchMediaType(req));
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw badRequest("DeleteOptions must be a JSON object");
      body = parsed as Record<string, unknown>;
    }
  }
  const policy = (url.searchParams.get("propagationPolicy") ?? body.propagationPolicy) as string | undefined;
  if (policy !== undefined && !["Foreground", "Background", "Orphan"].includes(policy))
    throw badRequest(`propagationPolicy must be one of Foreground, Background or Orphan, got "${policy}"`);
  const orphan = url.searchParams.has("orphanDependents") ? boolParam(url, "orphanDependents") : body.orphanDependents;
  if (orphan != null && typeof orphan !== "boolean") throw badRequest("orphanDependents must be a boolean");
  const grace = intParam(url, "gracePeriodSeconds") ?? body.gracePeriodSeconds;
  if (grace !== undefined && (typeof grace !== "number" || !Number.isInteger(grace) || grace < 0))
    throw badRequest("gracePeriodSeconds must be a non-negative integer");
  const dryRun = isDryRun(url) || (Array.isArray(body.dryRun) && body.dryRun.includes("All"));
  return {
    dryRun,
    gracePeriodSeconds: grace as number | undefined,
    propagationPolicy: (policy ?? (orphan ? "Orphan" : undefined)) as PropagationPolicy | undefined,
    preconditions: body.preconditions as DeleteOptions["preconditions"],
  };
}

export async function deleteObject(ctx: ApiContext, req: Request, url: URL, def: ResourceDef, namespace: string | undefined, name: string) {
  const opts = await deleteOptions(req, url);
  return json(fromStored(def, await ctx.deleter.delete(storedDef(def), namespace, name, opts)));
}

export async function deleteCollection(ctx: ApiContext, req: Request, url: URL, def: ResourceDef, namespace: string | undefined) {
  const opts = await deleteOptions(req, url);
  const filter = objectFilter(def, url) ?? (() => true);
  const { items } = ctx.objects.list(storedDef(def), namespace);
  const deleted: KubeObject[] = [];
  for (const obj of items.filter(filter)) {
    try {
      deleted.push(fromStored(def, await ctx.deleter.delete(storedDef(def), obj.metadata.namespace, obj.metadata.name!, opts)));
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== 404) throw e;
    }
  }
  return json({ kind: def.listKind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(ctx.cache.revision) }, items: deleted });
}
