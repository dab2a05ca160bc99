// The pod-template-hash: a stable name for a pod template, so a Deployment finds "its"
// ReplicaSet for the current template across restarts, and ReplicaSets of different templates
// never select each other's pods. Like upstream: FNV-32a over the template (here its canonical
// JSON, keys sorted, since Go's struct dump cannot be reproduced), plus the collision count as
// four little-endian bytes in an eight-byte block, rendered with upstream's SafeEncodeString.
import type { PodTemplateSpec } from "../../../api/resources/core/podspec.schema";
import { jsonEqual } from "../../../api/resources/common";

export const POD_TEMPLATE_HASH = "pod-template-hash";

/** JSON with object keys sorted at every level, undefined members left out. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? "null" : canonicalJson(x))).join(",")}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function fnv32a(bytes: Uint8Array, h = FNV_OFFSET): number {
  for (const b of bytes) h = Math.imul(h ^ b, FNV_PRIME) >>> 0;
  return h >>> 0;
}

// Consonants and digits only, so a hash never spells a word (upstream's rand.SafeEncodeString).
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";
export const safeEncodeString = (s: string) => [...s].map((c) => ALPHANUMS[c.codePointAt(0)! % ALPHANUMS.length]).join("");

export function computeHash(template: PodTemplateSpec | undefined, collisionCount?: number): string {
  let h = fnv32a(new TextEncoder().encode(canonicalJson(template ?? {})));
  if (collisionCount !== undefined && collisionCount !== null) {
    const block = new Uint8Array(8);
    new DataView(block.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(block, h);
  }
  return safeEncodeString(String(h));
}

const withoutHash = (t: PodTemplateSpec | undefined) => {
  const copy = structuredClone(t ?? {}) as PodTemplateSpec;
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH];
    if (Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  }
  return copy;
};

/** Whether two templates are the same apart from the pod-template-hash label. */
export const templatesEqualIgnoringHash = (a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined) =>
  jsonEqual(withoutHash(a), withoutHash(b));
