// Store keys: /registry/<group or "core">/<plural>/[<namespace>/]<name>. The collection prefix
// comes first so a list of one resource (in one namespace) is one prefix scan.
import type { ResourceDef } from "../../../api/resource";

export const collectionKey = (def: ResourceDef) => `/registry/${def.group || "core"}/${def.plural}/`;

export const listPrefix = (def: ResourceDef, namespace?: string) =>
  def.namespaced && namespace ? `${collectionKey(def)}${namespace}/` : collectionKey(def);

export const objectKey = (def: ResourceDef, namespace: string | undefined, name: string) =>
  def.namespaced ? `${collectionKey(def)}${namespace}/${name}` : `${collectionKey(def)}${name}`;
