// Which writes may be deferred (Store WriteOptions.durable = false): a heartbeat, i.e. an update
// of a Lease that changes nothing but spec.renewTime — nodes' Leases in kube-node-lease every
// 10 s, and the controller manager's leader Lease every 2 s. A crash loses at most one flush
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

/** Whether the update from old to next is only a Lease renewal. */
export function isHeartbeat(def: ResourceDef, old: KubeObject, next: KubeObject): boolean {
  if (def.group !== "coordination.k8s.io" || def.plural !== "leases") return false;
  const [was, now] = [old.spec as LeaseSpec | undefined, next.spec as LeaseSpec | undefined];
  if (!was || !now || was.holderIdentity !== now.holderIdentity || was.renewTime === now.renewTime) return false;
  return withoutRenewTime(def, old) === withoutRenewTime(def, next);
}
