// Finding the sub-schema for a field or list item in a TypeBox (JSON Schema) tree, and reading the
// strategic-merge metadata (`x-kubernetes-patch-merge-key` / `-strategy`) where it is declared.
// TypeBox encodes Optional as a modifier on the same object, Record as patternProperties, Union
// as anyOf, Intersect as allOf and recursive types as $ref to an $id, so those are what we follow.
import type { TSchema } from "@sinclair/typebox";

type Schema = Record<string, unknown>;

/** A schema position: the schema itself and the root it came from (for $ref lookups). */
export interface SchemaAt {
  schema: Schema | undefined;
  ids: Map<string, Schema>;
}

const idCache = new WeakMap<object, Map<string, Schema>>();

/** Every `$id` below the root, so `$ref`s (TypeBox Recursive/Ref) can be resolved. */
function collectIds(root: Schema): Map<string, Schema> {
  const cached = idCache.get(root);
  if (cached) return cached;
  const ids = new Map<string, Schema>();
  const seen = new Set<unknown>();
  const visit = (v: unknown) => {
    if (!v || typeof v !== "object" || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) return v.forEach(visit);
    const s = v as Schema;
    if (typeof s.$id === "string") ids.set(s.$id, s);
    for (const child of Object.values(s)) visit(child);
  };
  visit(root);
  idCache.set(root, ids);
  return ids;
}

export function rootSchema(schema: TSchema | undefined): SchemaAt {
  const s = schema as unknown as Schema | undefined;
  return { schema: s, ids: s ? collectIds(s) : new Map() };
}

const at = (from: SchemaAt, schema: unknown): SchemaAt => ({ schema: schema as Schema | undefined, ids: from.ids });

function deref(p: SchemaAt): Schema | undefined {
  let s = p.schema;
  for (let hops = 0; s && typeof s.$ref === "string" && hops < 16; hops++) s = p.ids.get(s.$ref as string);
  return s;
}

/** anyOf/allOf members, for unions like `T | null` and intersections. */
const members = (s: Schema): Schema[] => [...((s.anyOf as Schema[]) ?? []), ...((s.allOf as Schema[]) ?? [])];

/** The schema of `key` inside an object (properties, then Record value schemas). */
export function fieldSchema(p: SchemaAt, key: string): SchemaAt {
  const s = deref(p);
  if (!s) return at(p, undefined);
  const props = s.properties as Record<string, Schema> | undefined;
  if (props && Object.prototype.hasOwnProperty.call(props, key)) return at(p, props[key]);
  const patterns = s.patternProperties as Record<string, Schema> | undefined;
  if (patterns) {
    for (const [re, sub] of Object.entries(patterns)) if (new RegExp(re).test(key)) return at(p, sub);
  }
  if (s.additionalProperties && typeof s.additionalProperties === "object") return at(p, s.additionalProperties);
  for (const m of members(s)) {
    const found = fieldSchema(at(p, m), key);
    if (found.schema) return found;
  }
  return at(p, undefined);
}

/** The schema of a list's items. */
export function itemSchema(p: SchemaAt): SchemaAt {
  const s = deref(p);
  if (!s) return at(p, undefined);
  if (s.items && typeof s.items === "object" && !Array.isArray(s.items)) return at(p, s.items);
  for (const m of members(s)) {
    const found = itemSchema(at(p, m));
    if (found.schema) return found;
  }
  return at(p, undefined);
}

export interface PatchMeta {
  /** The strategies named in x-kubernetes-patch-strategy ("merge", "replace", "retainKeys"). */
  strategies: string[];
  mergeKey?: string;
}

/** Strategic-merge metadata of a field, looking through unions to the member that declares it. */
export function patchMeta(p: SchemaAt): PatchMeta {
  const s = deref(p);
  if (!s) return { strategies: [] };
  const strategy = s["x-kubernetes-patch-strategy"];
  if (typeof strategy === "string") {
    const key = s["x-kubernetes-patch-merge-key"];
    return { strategies: strategy.split(",").map((x) => x.trim()).filter(Boolean), mergeKey: typeof key === "string" ? key : undefined };
  }
  for (const m of members(s)) {
    const found = patchMeta(at(p, m));
    if (found.strategies.length) return found;
  }
  return { strategies: [] };
}
