// Strategic merge patch (application/strategic-merge-patch+json), the format `kubectl apply`,
// `kubectl edit` and most `kubectl patch` calls send. Semantics follow upstream's
// k8s.io/apimachinery/pkg/util/strategicpatch, driven by the merge keys and strategies declared on
// our schemas (the same ones the OpenAPI document hands kubectl):
//
// - maps merge key by key; `null` deletes a key;
// - lists with strategy "merge" and a merge key merge element by element on that key; lists of
//   scalars with strategy "merge" merge as sets; any other list is replaced;
// - `$patch: replace` / `$patch: delete` on a map replace or empty it; in a merging list,
//   `{key: v, $patch: delete}` removes the element and `{$patch: replace}` replaces the list;
// - `$deleteFromPrimitiveList/<f>` removes scalars from a merged set;
// - `$setElementOrder/<f>` fixes the order of the merged list (elements only on the server keep
//   their place relative to the others);
// - `$retainKeys` drops every key of the original map not listed.
import { ApiError, badRequest } from "../../../api/errors";
import { fieldSchema, itemSchema, patchMeta, type SchemaAt } from "./schema-walk";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const DIRECTIVE = "$patch";
const RETAIN_KEYS = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/";
const SET_ELEMENT_ORDER = "$setElementOrder/";

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);
const isDirectiveKey = (k: string) =>
  k === DIRECTIVE || k === RETAIN_KEYS || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER);

/** Malformed patches are the client's fault: 400, as upstream's interpretStrategicMergePatchError. */
const badPatch = (msg: string) => badRequest(msg);
/** Well-formed patches that cannot apply to this object: 422. */
const unprocessable = (msg: string) => new ApiError(422, "Invalid", msg);

const show = (v: unknown) => JSON.stringify(v);

/** Merges `patch` into a copy of `original` (neither is modified). */
export function strategicMerge(original: JsonObject, patch: JsonObject, schema: SchemaAt): JsonObject {
  return mergeMap(structuredClone(original), structuredClone(patch), schema);
}

/** `original` and `patch` are owned (already copied) and may be modified. */
function mergeMap(original: JsonObject, patch: JsonObject, schema: SchemaAt): JsonObject {
  if (DIRECTIVE in patch) {
    const directive = patch[DIRECTIVE];
    delete patch[DIRECTIVE];
    if (directive === "replace") return mergeMap({}, patch, schema); // still strips nested directives
    if (directive === "delete") return {};
    // Upstream rejects "merge" on maps; accepting it as the default behaviour harms no one.
    if (directive !== "merge") throw badPatch(`Unknown patch type: ${show(directive)} in map: ${show(patch)}`);
  }

  applyRetainKeys(original, patch);

  // Deletions from primitive lists first, so a value both deleted and re-added stays.
  for (const [k, v] of Object.entries(patch)) {
    if (!k.startsWith(DELETE_FROM_PRIMITIVE_LIST)) continue;
    const field = k.slice(DELETE_FROM_PRIMITIVE_LIST.length);
    if (!Array.isArray(v) || !field) throw badPatch("invalid patch format of primitive list");
    const current = own(original, field);
    const deleted = new Set<Json>(v);
    if (Array.isArray(current)) setOwn(original, field, current.filter((x) => !deleted.has(x)));
  }

  // $setElementOrder places server-only elements by where they were before this patch.
  const listsBefore = new Map<string, Json[]>();
  for (const k of Object.keys(patch)) {
    const field = k.startsWith(SET_ELEMENT_ORDER) ? k.slice(SET_ELEMENT_ORDER.length) : undefined;
    const list = field !== undefined ? own(original, field) : undefined;
    if (field !== undefined && Array.isArray(list)) listsBefore.set(field, list);
  }

  for (const [k, pv] of Object.entries(patch)) {
    if (isDirectiveKey(k)) continue;
    if (pv === null) {
      delete original[k];
      continue;
    }
    setOwn(original, k, mergeValue(own(original, k), pv, fieldSchema(schema, k)));
  }

  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith(SET_ELEMENT_ORDER)) continue;
    const field = k.slice(SET_ELEMENT_ORDER.length);
    if (!Array.isArray(order) || !field) throw badPatch("invalid patch format of setElementOrder list");
    const merged = own(original, field);
    if (!Array.isArray(merged)) continue;
    const { mergeKey } = patchMeta(fieldSchema(schema, field));
    const patchList = patch[field];
    if (Array.isArray(patchList)) checkOrderMatchesPatch(patchList, order, mergeKey);
    setOwn(original, field, normalizeOrder(merged, order, listsBefore.get(field) ?? merged, mergeKey));
  }
  return original;
}

/** Own properties only: a "__proto__" key in JSON is data, never the object's prototype. */
const own = (o: JsonObject, k: string): Json | undefined => (Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);
const setOwn = (o: JsonObject, k: string, v: Json) =>
  Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });

function mergeValue(ov: Json | undefined, pv: Json, schema: SchemaAt): Json {
  const meta = patchMeta(schema);
  if (isObject(pv)) {
    // A new map still goes through mergeMap, so directives inside it never reach storage.
    if (meta.strategies.includes("replace")) return mergeMap({}, pv, schema);
    return mergeMap(isObject(ov) ? ov : {}, pv, schema);
  }
  if (Array.isArray(pv)) {
    if (!meta.strategies.includes("merge")) return pv; // lists without a merge strategy are replaced
    return mergeList(Array.isArray(ov) ? ov : [], pv, schema, meta.mergeKey);
  }
  return pv;
}

function applyRetainKeys(original: JsonObject, patch: JsonObject) {
  if (!(RETAIN_KEYS in patch)) return;
  const keep = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(keep)) throw badPatch("invalid patch format of retainKeys");
  const keepSet = new Set(keep);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || isDirectiveKey(k)) continue;
    if (!keepSet.has(k)) throw unprocessable(`the patch content doesn't match retainKeys list: key ${show(k)} is not in ${show(keep)}`);
  }
  for (const k of Object.keys(original)) if (!keepSet.has(k)) delete original[k];
}

/**
 * Scalars compare by value; merge-key values are scalars too (names, ports). Lists are matched
 * through Maps and Sets keyed by those values (the same comparison), never by scanning one list
 * per element of another: a patch of a hundred thousand list items must not take minutes.
 */
const sameScalar = (a: Json | undefined, b: Json | undefined) => a === b;

function elementKind(lists: Json[][]): "map" | "scalar" | "empty" {
  let kind: "map" | "scalar" | "empty" = "empty";
  for (const list of lists)
    for (const v of list) {
      if (Array.isArray(v)) throw unprocessable("lists of lists are not supported");
      const k = isObject(v) ? "map" : "scalar";
      if (kind !== "empty" && kind !== k) throw unprocessable(`list element types are not identical: ${show(lists)}`);
      kind = k;
    }
  return kind;
}

function keyOf(v: Json, mergeKey: string): Json | undefined {
  if (!isObject(v)) throw unprocessable(`value is not a map: ${show(v)}`);
  if (!(mergeKey in v)) throw unprocessable(`map: ${show(v)} does not contain declared merge key: ${mergeKey}`);
  return v[mergeKey];
}

function mergeList(original: Json[], patch: Json[], schema: SchemaAt, mergeKey: string | undefined): Json[] {
  const kind = elementKind([original, patch]);
  if (kind === "empty") return original;

  if (kind === "scalar") {
    const merged: Json[] = [];
    const seen = new Set<Json>();
    for (const v of [...original, ...patch]) {
      if (seen.has(v)) continue;
      seen.add(v);
      merged.push(v);
    }
    return normalizeOrder(merged, patch, original, undefined);
  }

  if (!mergeKey) throw unprocessable("cannot merge lists without merge key");
  const items = itemSchema(schema);

  // Directive elements first: deletions by key, or a wholesale replace.
  let base = original;
  let replace = false;
  const plain: JsonObject[] = [];
  const deleted = new Set<Json | undefined>();
  for (const el of patch) {
    const e = el as JsonObject;
    if (!(DIRECTIVE in e)) {
      plain.push(e);
      continue;
    }
    const directive = e[DIRECTIVE];
    if (directive === "delete") {
      deleted.add(keyOf(e, mergeKey));
    } else if (directive === "replace") {
      replace = true;
    } else if (directive === "merge") {
      // Upstream refuses list-level merge ("merging lists cannot yet be specified"); it is the
      // default anyway, so treat the marker as a no-op rather than failing kubectl-made patches.
    } else {
      throw badPatch(`Unknown patch type: ${show(directive)} in map: ${show(e)}`);
    }
  }
  if (deleted.size) base = base.filter((o) => !deleted.has(keyOf(o, mergeKey)));
  if (replace) base = [];

  const merged = [...base];
  // The first element with each key, as a scan from the start would find it.
  const at = new Map<Json | undefined, number>();
  if (plain.length) merged.forEach((o, i) => at.has(keyOf(o, mergeKey)) || at.set(keyOf(o, mergeKey), i));
  for (const el of plain) {
    const key = keyOf(el, mergeKey);
    const i = at.get(key);
    if (i !== undefined) merged[i] = mergeMap(merged[i] as JsonObject, el, items);
    else {
      at.set(key, merged.length);
      merged.push(mergeMap({}, el, items));
    }
  }
  return normalizeOrder(merged, plain, base, mergeKey);
}

/** Identity of a list element for ordering: its merge-key value, or the scalar itself. */
const idOf = (v: Json, mergeKey: string | undefined): Json | undefined => (mergeKey ? (isObject(v) ? v[mergeKey] : undefined) : v);

/** Where each identity first appears in `list`; `indexIn` answers -1 for the absent ones. */
function positions(list: Json[], mergeKey: string | undefined): Map<Json | undefined, number> {
  const at = new Map<Json | undefined, number>();
  list.forEach((x, i) => at.has(idOf(x, mergeKey)) || at.set(idOf(x, mergeKey), i));
  return at;
}
const indexIn = (at: Map<Json | undefined, number>, v: Json, mergeKey: string | undefined): number => at.get(idOf(v, mergeKey)) ?? -1;

/**
 * Upstream's ordering rule: elements named in `order` (the patch list or $setElementOrder) come
 * in that order; the others ("server-only") keep their order from `serverOrder` (the original
 * list), and the two runs are interleaved by their positions in the original. New elements
 * that the original never had go before server-only ones unless the order says otherwise.
 */
function normalizeOrder(merged: Json[], order: Json[], serverOrder: Json[], mergeKey: string | undefined): Json[] {
  const inOrder: Json[] = [];
  const serverOnly: Json[] = [];
  const inOrderAt = positions(order, mergeKey);
  const serverAt = positions(serverOrder, mergeKey);
  for (const v of merged) (indexIn(inOrderAt, v, mergeKey) >= 0 ? inOrder : serverOnly).push(v);

  const byOrder = (list: Json[], ref: Map<Json | undefined, number>) =>
    list
      .map((v, i) => ({ v, i, r: indexIn(ref, v, mergeKey) }))
      .sort((a, b) => (a.r >= 0 && b.r >= 0 ? a.r - b.r : a.i - b.i))
      .map((x) => x.v);
  const left = byOrder(serverOnly, serverAt);
  const right = byOrder(inOrder, inOrderAt);

  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverAt, left[i], mergeKey);
      const ri = indexIn(serverAt, right[j], mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** The patch list's non-deleting elements must appear in $setElementOrder in the same order. */
function checkOrderMatchesPatch(patchList: Json[], order: Json[], mergeKey: string | undefined) {
  const relevant = patchList.filter((v) => !(isObject(v) && DIRECTIVE in v));
  let pos = 0;
  for (const v of relevant) {
    const id = idOf(v, mergeKey);
    while (pos < order.length && !sameScalar(idOf(order[pos], mergeKey), id)) pos++;
    if (pos >= order.length)
      throw badPatch(`The order in patch list:\n${show(patchList)}\n doesn't match $setElementOrder list:\n${show(order)}`);
    pos++;
  }
}
