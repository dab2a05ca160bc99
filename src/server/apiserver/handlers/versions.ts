// The one place a request's version meets the stored one: a resource served in several versions
// (ResourceDef.versions) reaches the handlers as the definition of the version in the path; the
// object layer and the store see only the stored version. Bodies are converted on the way in,
// every object sent out (get, list items, watch events, write answers) on the way out.
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";

/** The definition the object layer works with (the stored version's). */
export const storedDef = (def: ResourceDef): ResourceDef => def.servedAs?.stored ?? def;

/** A request's object, in the version of the path, as stored. */
export const toStored = (def: ResourceDef, obj: KubeObject): KubeObject => (def.servedAs ? def.servedAs.toStored(obj) : obj);

/** A stored object in the version of the path. */
export const fromStored = (def: ResourceDef, obj: KubeObject): KubeObject => (def.servedAs ? def.servedAs.fromStored(obj) : obj);
