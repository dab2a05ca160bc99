// PATCH bodies: one entry point for the three patch formats the Kubernetes API accepts on every
// built-in resource. The caller decodes the body as JSON, passes the stored object and the
// resource's schema, then decodes, defaults and validates the result like any update.
import type { TSchema } from "@sinclair/typebox";
import { badRequest, unsupportedMediaType } from "../../../api/errors";
import { jsonPatch } from "./json-patch";
import { mergePatch } from "./merge-patch";
import { strategicMerge } from "./strategic";
import { rootSchema } from "./schema-walk";

export const JSON_PATCH = "application/json-patch+json";
export const MERGE_PATCH = "application/merge-patch+json";
export const STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json";
export const PATCH_CONTENT_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH] as const;
export type PatchContentType = (typeof PATCH_CONTENT_TYPES)[number];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The media type without parameters (`; charset=utf-8`), lower-cased. */
export const patchMediaType = (contentType: string): string => contentType.split(";")[0].trim().toLowerCase();

export const isPatchContentType = (contentType: string): contentType is PatchContentType =>
  (PATCH_CONTENT_TYPES as readonly string[]).includes(patchMediaType(contentType));

/**
 * Applies `patch` (already JSON-decoded) to `original` and returns the new object; `original` is
 * never modified. Throws ApiError: 415 for other content types, 400 for malformed patches, 422
 * for patches that cannot apply (failed test op, missing path, merge key absent).
 */
export function applyPatch(contentType: string, original: object, patch: unknown, schema: TSchema): object {
  try {
    return applyPatchOfType(patchMediaType(contentType), contentType, original, patch, schema);
  } catch (e) {
    // The merges recurse along the patch; bodies are refused past 10000 levels before they get
    // here, and this keeps anything deeper a client error rather than a crash of the request.
    if (e instanceof RangeError) throw badRequest(`the patch could not be applied: ${e.message}`);
    throw e;
  }
}

function applyPatchOfType(type: string, contentType: string, original: object, patch: unknown, schema: TSchema): object {
  let result: unknown;
  switch (type) {
    case JSON_PATCH:
      result = jsonPatch(original, patch);
      break;
    case MERGE_PATCH:
      if (!isObject(patch)) throw badRequest("the merge patch must be a JSON object");
      result = mergePatch(original as never, patch as never);
      break;
    case STRATEGIC_MERGE_PATCH:
      if (!isObject(patch)) throw badRequest("invalid JSON document: the strategic merge patch must be a JSON object");
      result = strategicMerge(original as never, patch as never, rootSchema(schema));
      break;
    default:
      throw unsupportedMediaType(contentType);
  }
  if (!isObject(result)) throw badRequest("the patched object must be a JSON object");
  return result;
}

export { jsonPatch, MAX_JSON_PATCH_OPERATIONS } from "./json-patch";
export { mergePatch } from "./merge-patch";
export { strategicMerge } from "./strategic";
export { fieldSchema, itemSchema, patchMeta, rootSchema } from "./schema-walk";
