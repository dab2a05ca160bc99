// Which writes may be deferred (Store WriteOptions.durable = false): heartbeats, as each kind's
// definition recognises them (isHeartbeat: a Lease renewal, a Node status report that moves only
// its conditions' lastHeartbeatTime). A crash loses at most one flush window of them, which is
// safe because the readers judge liveness by when they saw a heartbeat, not by the time in it.
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import { encode } from "./codec";

/** Whether the update from old to next is only a heartbeat of its kind. */
export function isHeartbeat(def: ResourceDef, old: KubeObject, next: KubeObject): boolean {
  return def.isHeartbeat?.(old, next, (a, b) => encode(def, a) === encode(def, b)) ?? false;
}
