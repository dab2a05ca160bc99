// Which writes may be deferred (Store WriteOptions.durable = false): a heartbeat, i.e. an update
// of a Lease that changes nothing but spec.renewTime — nodes' Leases in kube-node-lease every
// 10 s, and the controller manager's leader Lease every 2 s — or a Node status report that moves
// only its conditions' lastHeartbeatTime (every 5 minutes). A crash loses at most one flush
// window of renewals; the node lifecycle controller and leader election both judge staleness by
// when *they* saw a renewal, not by renewTime, so an old persisted renewTime after a restart
// neither makes a node look lost nor steals leadership. Anything else about a Lease (a new
// holder, a new duration) is durable.
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import { encode } from "./codec";

type LeaseSpec = { holderIdentity?: string; renewTime?: string };

const withoutRenewTime = (def: ResourceDef, obj: KubeObject) => {
  const spec = (obj.spec ?? {}) as LeaseSpec;
  return encode(def, { ...obj, spec: { ...spec, renewTime: undefined } });
};

/** Whether the update from old to next is only a heartbeat: a Lease renewal or a Node's status report. */
export function isHeartbeat(def: ResourceDef, old: KubeObject, next: KubeObject): boolean {
  if (def.group === "coordination.k8s.io" && def.plural === "leases") return isLeaseRenewal(def, old, next);
  if (def.group === "" && def.plural === "nodes") return isNodeStatusReport(def, old, next);
  return false;
}

function isLeaseRenewal(def: ResourceDef, old: KubeObject, next: KubeObject): boolean {
  const [was, now] = [old.spec as LeaseSpec | undefined, next.spec as LeaseSpec | undefined];
  if (!was || !now || was.holderIdentity !== now.holderIdentity || was.renewTime === now.renewTime) return false;
  return withoutRenewTime(def, old) === withoutRenewTime(def, next);
}

type Condition = { lastHeartbeatTime?: string };

/** Clears every condition's lastHeartbeatTime: what remains is the node's actual state. */
const withoutHeartbeatTimes = (def: ResourceDef, obj: KubeObject) => {
  const status = (obj.status ?? {}) as { conditions?: Condition[] };
  const conditions = status.conditions?.map((c) => ({ ...c, lastHeartbeatTime: undefined }));
  return encode(def, { ...obj, status: { ...status, conditions } });
};

/**
 * An agent re-reports an unchanged Node status every few minutes, moving only the conditions'
 * lastHeartbeatTime; the node lifecycle controller reads liveness from Leases (or its own clock),
 * so losing such a report in a crash changes nothing. Any real change (a condition, capacity,
 * addresses) is durable.
 */
function isNodeStatusReport(def: ResourceDef, old: KubeObject, next: KubeObject): boolean {
  const times = (o: KubeObject) => JSON.stringify(((o.status ?? {}) as { conditions?: Condition[] }).conditions?.map((c) => c.lastHeartbeatTime));
  if (times(old) === times(next)) return false;
  return withoutHeartbeatTimes(def, old) === withoutHeartbeatTimes(def, next);
}
