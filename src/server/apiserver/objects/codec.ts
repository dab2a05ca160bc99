// Objects are stored without resourceVersion (the store's modRevision is the resourceVersion),
// so a no-op update can be spotted by comparing serialized values.
import { apiVersionOf, type ResourceDef } from "../../../api/resource";
import type { KubeObject } from "../../../api/meta";
import type { KeyValue } from "../../store/store";

export function decode(kv: Pick<KeyValue, "value" | "modRevision">): KubeObject {
  const obj = JSON.parse(kv.value) as KubeObject;
  obj.metadata.resourceVersion = String(kv.modRevision);
  return obj;
}

export function encode(def: ResourceDef, obj: KubeObject): string {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return JSON.stringify({ ...obj, apiVersion: apiVersionOf(def), kind: def.kind, metadata });
}

/** Kubernetes timestamps: RFC 3339 with second precision. */
export const timestamp = (d = new Date()) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

const NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** generateName's random suffix, from upstream's alphabet without vowels and confusables. */
export function randomSuffix(n = 5): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return Array.from(bytes, (b) => NAME_SUFFIX_ALPHABET[b % NAME_SUFFIX_ALPHABET.length]).join("");
}
