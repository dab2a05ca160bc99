// JSON merge patch (RFC 7386, application/merge-patch+json): objects merge key by key, null
// deletes, anything else (arrays included) replaces. Unlike strategic merge patch it never looks
// at the schema, which is why `kubectl patch --type=merge` replaces whole container lists.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is { [k: string]: Json } => typeof v === "object" && v !== null && !Array.isArray(v);

/** Returns the patched document; `target` is not modified. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: { [k: string]: Json } = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete out[k];
      continue;
    }
    const current = Object.prototype.hasOwnProperty.call(out, k) ? out[k] : undefined;
    // defineProperty: a "__proto__" key in the patch is data, never a prototype change.
    Object.defineProperty(out, k, { value: mergePatch(current, v), writable: true, enumerable: true, configurable: true });
  }
  return out;
}
