// What the HTTP handlers share.
import type { ResourceDef } from "../../../api/resource";
import type { Store } from "../../store/store";
import type { ServerConfig } from "../../config";
import type { Deleter } from "../objects/delete";
import type { Objects } from "../objects/objects";
import type { WatchCache } from "../watchcache";

export interface ApiContext {
  config: ServerConfig;
  store: Store;
  cache: WatchCache;
  objects: Objects;
  deleter: Deleter;
  resources: ResourceDef[];
  /** Resource by group and plural (any served version). */
  resource(group: string, plural: string): ResourceDef;
  /** Open watch streams, closed when the server stops. */
  watches: Set<() => void>;
}
