// Which writes may be deferred (Store WriteOptions.durable = false): a node's heartbeat, i.e. an
// update of its Lease in kube-node-lease that changes nothing but spec.renewTime. A crash loses
// at most one flush window of renewals, and the node lifecycle controller judges staleness by
// when *it* saw a renewal, not by renewTime, so an old persisted renewTime after a restart does
// not make a node look lost. Anything else about a Lease (a new holder, a new duration) is durable.
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import { encode } from "./codec";

export const NODE_LEASE_NAMESPACE = "kube-node-lease";

type LeaseSpec = { holderIdentity?: string; renewTime?: string };

const withoutRenewTime = (def: ResourceDef, obj: KubeObject) => {
  const spec = (obj.spec ?? {}) as LeaseSpec;
  return encode(def, { ...obj, spec: { ...spec, renewTime: undefined } });
};

/** Whether the update from old to next is only a node Lease renewal. */
export function isHeartbeat(def: ResourceDef, namespace: string | undefined, old: KubeObject, next: KubeObject): boolean {
  if (def.group !== "coordination.k8s.io" || def.plural !== "leases" || namespace !== NODE_LEASE_NAMESPACE) return false;
  const [was, now] = [old.spec as LeaseSpec | undefined, next.spec as LeaseSpec | undefined];
  if (!was || !now || was.holderIdentity !== now.holderIdentity || was.renewTime === now.renewTime) return false;
  return withoutRenewTime(def, old) === withoutRenewTime(def, next);
}
