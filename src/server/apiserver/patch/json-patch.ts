// JSON patch (RFC 6902, application/json-patch+json) through fast-json-patch. Malformed
// operations are the client's 400; operations that cannot apply to this object (a failed
// `test`, a missing path) are 422, as upstream answers them. Nothing here may surface as a 500.
import { applyPatch as applyOps, JsonPatchError, type Operation } from "fast-json-patch";
import { ApiError, badRequest } from "../../../api/errors";

/** Upstream's cap on operations per JSON patch (apiserver maxJSONPatchOperations). */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

/** Errors about the shape of the operations themselves rather than about the document. */
const MALFORMED = new Set([
  "SEQUENCE_NOT_AN_ARRAY",
  "OPERATION_NOT_AN_OBJECT",
  "OPERATION_OP_INVALID",
  "OPERATION_PATH_INVALID",
  "OPERATION_FROM_REQUIRED",
  "OPERATION_VALUE_REQUIRED",
  "OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED",
]);

/** Returns the patched document; `doc` is not modified. */
export function jsonPatch(doc: object, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  if (ops.length > MAX_JSON_PATCH_OPERATIONS)
    throw new ApiError(422, "Invalid", `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`);
  try {
    // validate=true checks each operation against the document before applying it;
    // mutateDocument=false works on a copy; prototype modifications stay banned (default).
    return applyOps(structuredClone(doc), ops as Operation[], true, false).newDocument;
  } catch (e) {
    if (e instanceof JsonPatchError) {
      const op = e.operation ? ` (operation ${e.index ?? ""}: ${JSON.stringify(e.operation)})` : "";
      const message = `${describe(e)}${op}`;
      if (MALFORMED.has(e.name)) throw badRequest(message);
      throw new ApiError(422, "Invalid", message);
    }
    // fast-json-patch throws plain errors for things like prototype pollution attempts.
    throw badRequest(`invalid JSON patch: ${(e as Error).message}`);
  }
}

function describe(e: JsonPatchError): string {
  // fast-json-patch's messages are multi-line with the whole tree; keep the first line.
  return e.message.split("\n")[0];
}
