// Size limits on what a client may send and store, as upstream enforces them: a request body of
// at most 3 MiB (the apiserver's MaxRequestBodyBytes), an object of at most 1.5 MiB once decoded
// (etcd's default --max-request-bytes, which is what stops an oversized object upstream), and
// YAML whose aliases expand a document no further than go-yaml's decoder allows.
//
// Bun.YAML.parse shares an aliased node by reference, so a few kilobytes of anchors and aliases
// decode to a small graph that serializes to gigabytes. Nothing here serializes a decoded value
// to measure it: the walk below counts what the value would expand to and stops as soon as a
// limit is crossed, so its cost is bounded by the limit, not by the expansion.
import { ApiError, badRequest, tooLarge } from "../../api/errors";

/** Upstream's limit for a request body (apiserver MaxRequestBodyBytes). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** The largest object the store takes (etcd's default request limit, 1.5 MiB). */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

/** 413 for a request body over MAX_BODY_BYTES: "Request entity too large: limit is 3145728". */
export const bodyTooLarge = () => tooLarge(MAX_BODY_BYTES);

/**
 * 413 for an object the store would refuse. Upstream passes etcd's own error through (as a 500);
 * the wording is kept, so tools that look for it still find it, with the status that says what
 * happened.
 */
export const objectTooLarge = () => new ApiError(413, "RequestEntityTooLarge", "etcdserver: request is too large");

/** 400, in go-yaml's words (sigs.k8s.io/yaml passes them through). */
export const excessiveAliasing = () => badRequest("yaml: document contains excessive aliasing");

/**
 * How deep a decoded body may nest: Go's encoding/json and go-yaml both stop at 10000. Deeper
 * values would overflow the stack of the recursive code that merges and checks them.
 */
export const MAX_DEPTH = 10_000;

export const yamlTooDeep = () => badRequest(`yaml: exceeded max depth of ${MAX_DEPTH}`);
export const jsonTooDeep = () => badRequest(`the body of the request could not be decoded as JSON: exceeded max depth of ${MAX_DEPTH}`);

/** Whether JSON text nests deeper than MAX_DEPTH: one pass over the text, before it is parsed. */
export function jsonTooDeepText(text: string): boolean {
  // Nesting past MAX_DEPTH takes more than 2 × MAX_DEPTH characters: most bodies need no scan.
  if (text.length <= 2 * MAX_DEPTH) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_DEPTH) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** Whether a serialized object is over MAX_OBJECT_BYTES in UTF-8 (every write checks, dry runs too). */
export function exceedsObjectLimit(encoded: string): boolean {
  // Cheap first: a UTF-16 length within a third of the limit cannot exceed it in UTF-8.
  if (encoded.length * 3 <= MAX_OBJECT_BYTES) return false;
  return Buffer.byteLength(encoded, "utf8") > MAX_OBJECT_BYTES;
}

// go-yaml's alias budget (yaml.v2/v3 decode.go): once more than 100 of more than 1000 decoded
// nodes came from alias expansion, their share may be at most 99% for documents up to 400,000
// nodes, falling linearly to 10% at 4,000,000.
const ALIAS_RATIO_RANGE_LOW = 400_000;
const ALIAS_RATIO_RANGE_HIGH = 4_000_000;

function allowedAliasRatio(decodeCount: number): number {
  if (decodeCount <= ALIAS_RATIO_RANGE_LOW) return 0.99;
  if (decodeCount >= ALIAS_RATIO_RANGE_HIGH) return 0.1;
  return 0.99 - 0.89 * ((decodeCount - ALIAS_RATIO_RANGE_LOW) / (ALIAS_RATIO_RANGE_HIGH - ALIAS_RATIO_RANGE_LOW));
}

export interface Expansion {
  /** Whether any node was reached twice (an alias): the caller should unshare the value. */
  aliased: boolean;
}

/**
 * Walks a decoded YAML value as its JSON form would be written, counting nodes as go-yaml counts
 * decode operations (a node reached again is an alias expansion) and adding up an estimate of
 * the JSON size that never exceeds the real one. Throws 400 for excessive aliasing and 413 once
 * the estimate passes `maxBytes`, and 400 past MAX_DEPTH. Iterative, so it cannot overflow the
 * stack itself.
 */
export function checkExpansion(value: unknown, maxBytes = MAX_OBJECT_BYTES): Expansion {
  const seen = new Set<object>();
  let decodeCount = 0;
  let aliasCount = 0;
  let bytes = 0;
  let aliased = false;
  // Each entry: a value, whether it sits inside an alias expansion (0 or 1), and its depth.
  const stack: [unknown, number, number][] = [[value, 0, 0]];
  while (stack.length) {
    const [v, depthIn, depth] = stack.pop()!;
    if (depth > MAX_DEPTH) throw yamlTooDeep();
    let aliasDepth = depthIn;
    // Outside any alias, a node reached for the second time is an alias: that node is one decode
    // and everything it expands to is decoded again, inside it. Within an expansion every node
    // counts as expanded already, shared or not.
    if (aliasDepth === 0 && v !== null && typeof v === "object") {
      if (seen.has(v)) {
        decodeCount++;
        aliasDepth = 1;
        aliased = true;
      } else seen.add(v);
    }
    decodeCount++;
    if (aliasDepth > 0) aliasCount++;
    if (aliasCount > 100 && decodeCount > 1000 && aliasCount / decodeCount > allowedAliasRatio(decodeCount)) throw excessiveAliasing();

    if (Array.isArray(v)) {
      bytes += 2 + Math.max(0, v.length - 1); // brackets and commas
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], aliasDepth, depth + 1]);
    } else if (v !== null && typeof v === "object") {
      const keys = Object.keys(v);
      bytes += 2 + Math.max(0, keys.length - 1);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        // A key is a decoded scalar node too; its quotes and colon are 3 bytes.
        decodeCount++;
        if (aliasDepth > 0) aliasCount++;
        bytes += k.length + 3;
        stack.push([(v as Record<string, unknown>)[k], aliasDepth, depth + 1]);
      }
    } else if (typeof v === "string") bytes += v.length + 2;
    else bytes += String(v).length;
    if (bytes > maxBytes) throw objectTooLarge();
  }
  return { aliased };
}
