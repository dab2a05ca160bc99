// The node heartbeat Lease in kube-node-lease, as upstream's kubelet keeps it
// (pkg/kubelet/nodelease): name and holderIdentity are the node's name, 40 s duration,
// renewTime a MicroTime, owned by the Node so deleting the Node removes it.
import { ApiError } from "../../api/errors";
import type { Lease } from "../../api/resources/coordination/lease";
import type { ResourceClient } from "../../client/client";

export const NODE_LEASE_NAMESPACE = "kube-node-lease";
export const NODE_LEASE_DURATION_SECONDS = 40;

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits (JS clocks give three). */
export const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

export interface LeaseTarget {
  nodeName: string;
  /** The Node's uid, for the ownerReference; absent means no owner (the Node was not read). */
  nodeUid?: string;
  durationSeconds?: number;
}

/**
 * Renews (or creates) the node's Lease. `cached` is the Lease from the previous renewal: an
 * update from it costs one request, which is why upstream keeps it too. A conflict or a missing
 * Lease falls back to a GET or a create. Returns the Lease to pass next time.
 */
export async function renewNodeLease(api: ResourceClient<Lease>, target: LeaseTarget, cached: Lease | undefined, now: Date): Promise<Lease> {
  const spec = { holderIdentity: target.nodeName, leaseDurationSeconds: target.durationSeconds ?? NODE_LEASE_DURATION_SECONDS, renewTime: microTime(now) };
  if (cached) {
    try {
      return await api.update({ ...cached, spec: { ...cached.spec, ...spec } });
    } catch (e) {
      if (!(e instanceof ApiError) || (e.code !== 409 && e.code !== 404)) throw e;
    }
  }
  let current: Lease | undefined;
  try {
    current = await api.get(NODE_LEASE_NAMESPACE, target.nodeName);
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 404) throw e;
  }
  if (current) return api.update({ ...current, spec: { ...current.spec, ...spec } });
  const ownerReferences = target.nodeUid ? [{ apiVersion: "v1", kind: "Node", name: target.nodeName, uid: target.nodeUid }] : undefined;
  return api.create(NODE_LEASE_NAMESPACE, {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: target.nodeName, namespace: NODE_LEASE_NAMESPACE, ownerReferences },
    spec,
  });
}
