// Which nodes this node routes to, read from Node objects: a peer is another node with a
// podCIDR and an InternalIP. Pure, so it is tested without a cluster.
import type { Node } from "../../api/resources/core/node";
import { parseIPv4 } from "../../api/ip";
import { tryParseCidr } from "../../machinery/cidr";

export interface Peer {
  node: string;
  podCidr: string;
  /** The node's InternalIP: the next hop for its podCIDR (host-gw). */
  ip: string;
}

export function internalIpOf(node: Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === "InternalIP" && parseIPv4(a.address) !== undefined)?.address;
}

/**
 * The peers of `self` among `nodes`, sorted by podCIDR. Nodes without a podCIDR or an IPv4
 * InternalIP yet are left out (they are routed once they have both); a node being deleted keeps
 * its route until the object is gone, since its pods may still answer.
 */
export function peersOf(nodes: Iterable<Node>, self: string): Peer[] {
  const byCidr = new Map<string, Peer>();
  for (const n of nodes) {
    const name = n.metadata.name!;
    const podCidr = n.spec?.podCIDR;
    const ip = internalIpOf(n);
    if (name === self || !podCidr || !ip || !tryParseCidr(podCidr)) continue;
    // Two nodes claiming one podCIDR is a control-plane bug; pick one stably rather than flap.
    const other = byCidr.get(podCidr);
    if (!other || other.node > name) byCidr.set(podCidr, { node: name, podCidr, ip });
  }
  return [...byCidr.values()].sort((a, b) => a.podCidr.localeCompare(b.podCidr, "en", { numeric: true }));
}
