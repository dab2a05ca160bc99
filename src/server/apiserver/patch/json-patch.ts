// JSON patch (RFC 6902, application/json-patch+json) through fast-json-patch. Malformed
// operations are the client's 400; operations that cannot apply to this object (a failed
// `test`, a missing path) are 422, as upstream answers them. Nothing here may surface as a 500.
//
// Two things upstream's json-patch does that fast-json-patch does not, added around it:
// - paths resolve through the document's own members only (fast-json-patch also finds
//   "constructor" or "toString" on any object, through its prototype);
// - "copy" may add at most MAX_BODY_BYTES to the document in total (apiserver's
//   JSONPatchMaxCopyBytes), since each copy can double the document.
import { applyOperation, JsonPatchError, type Operation } from "fast-json-patch";
import { ApiError, badRequest } from "../../../api/errors";
import { MAX_BODY_BYTES } from "../limits";

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

const unprocessable = (message: string) => new ApiError(422, "Invalid", message);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

/** Returns the patched document; `doc` is not modified. */
export function jsonPatch(doc: object, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  if (ops.length > MAX_JSON_PATCH_OPERATIONS)
    throw new ApiError(413, "RequestEntityTooLarge", `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`);
  let document: unknown = structuredClone(doc);
  let copied = 0;
  ops.forEach((op, index) => {
    try {
      checkOwnPaths(document, op);
      if (isRecord(op) && op.op === "copy" && typeof op.from === "string") {
        copied += Buffer.byteLength(JSON.stringify(valueAt(document, op.from)) ?? "", "utf8");
        if (copied > MAX_BODY_BYTES)
          throw unprocessable(`Unable to complete the copy, the accumulated size increase of copy is ${copied}, exceeding the limit ${MAX_BODY_BYTES}`);
      }
      // validate=true checks the operation against the document before applying it; the
      // document is ours (a copy) to change; prototype modifications stay banned.
      document = applyOperation(document, op as Operation, true, true, true, index).newDocument;
    } catch (e) {
      throw asApiError(e, op, index);
    }
  });
  return document;
}

function asApiError(e: unknown, op: unknown, index: number): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof JsonPatchError) {
    // fast-json-patch's messages are multi-line with the whole tree; keep the first line.
    const message = `${e.message.split("\n")[0]} (operation ${index}: ${JSON.stringify(op)})`;
    return MALFORMED.has(e.name) ? badRequest(message) : unprocessable(message);
  }
  // fast-json-patch throws plain errors for paths through "__proto__" or "constructor/prototype".
  return badRequest(`invalid JSON patch: operation ${index} (${JSON.stringify(op)}) goes through "__proto__" or "constructor/prototype", which are not allowed in a path`);
}

const unescape = (part: string) => part.replace(/~1/g, "/").replace(/~0/g, "~");
const partsOf = (pointer: string) => (pointer === "" ? [] : pointer.split("/").slice(1).map(unescape));

/** Whether `part` is an own member of `at` (an object key, or an index inside an array). */
function hasOwn(at: unknown, part: string): boolean {
  if (Array.isArray(at)) return /^(0|[1-9]\d*)$/.test(part) && Number(part) < at.length;
  return isRecord(at) && Object.prototype.hasOwnProperty.call(at, part);
}

/** The value at a pointer through own members, or undefined. */
function valueAt(doc: unknown, pointer: string): unknown {
  let at = doc;
  for (const part of partsOf(pointer)) {
    if (!hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** Whether every member the pointer names (all of it, or all but its last part) is an own one. */
function resolves(doc: unknown, pointer: string, parentOnly: boolean): boolean {
  const parts = partsOf(pointer);
  if (parentOnly) parts.pop();
  let at = doc;
  for (const part of parts) {
    if (!hasOwn(at, part)) return false;
    at = (at as Record<string, unknown>)[part];
  }
  return true;
}

/** 422 for an operation whose path (or from) needs a member the document does not have itself. */
function checkOwnPaths(doc: unknown, op: unknown) {
  if (!isRecord(op) || typeof op.path !== "string" || !op.path.startsWith("/")) return; // fast-json-patch reports these
  const name = String(op.op);
  const whole = name === "replace" || name === "remove" || name === "test";
  if (!resolves(doc, op.path, !whole)) throw unprocessable(`${name} operation does not apply: doc is missing path: "${op.path}"`);
  if ((name === "move" || name === "copy") && typeof op.from === "string" && !resolves(doc, op.from, false))
    throw unprocessable(`${name} operation does not apply: doc is missing from path: "${op.from}"`);
}
