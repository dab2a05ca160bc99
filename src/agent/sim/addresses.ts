// Addresses for simulated nodes and their pods: a fake host IP per node, a per-node pod CIDR when
// the control plane has not allocated one, and pod IPs handed out inside it.
import { parseIPv4 } from "../../api/ip";
import { cidrContains, formatCidr, intToIp, parseCidr, type Cidr } from "../../machinery/cidr";

/** Fake node addresses: 172.31.0.0/16 is private and unlikely to clash with anything on a test box. */
const HOST_RANGE = parseCidr("172.31.0.0/16");
export const MAX_SIM_NODES = HOST_RANGE.size - 2;

/** The n-th node's InternalIP (172.31.0.1, 172.31.0.2, ...). */
export function simHostIP(index: number): string {
  return intToIp(HOST_RANGE.network + 1 + index);
}

/**
 * The pod CIDR a node uses when spec.podCIDR is empty. Allocating node CIDRs is the control
 * plane's job (a later issue; it will fill spec.podCIDR at admission and the sim then uses that);
 * until then the sim derives one by node index from the cluster CIDR: a /24 each, like k3s, or a
 * smaller block when more nodes are simulated than the range holds /24s (1,000 nodes in a /16
 * get /26s). Two sims with different prefixes in one cluster would overlap; run one sim.
 */
export function fallbackPodCidr(clusterCidr: string, nodeCount: number, index: number): string {
  const cluster = parseCidr(clusterCidr);
  const prefix = nodeBlockPrefix(cluster, nodeCount);
  const size = 2 ** (32 - prefix);
  return formatCidr({ network: cluster.network + index * size, prefix, size });
}

export function nodeBlockPrefix(cluster: Cidr, nodeCount: number): number {
  const needed = cluster.prefix + Math.ceil(Math.log2(Math.max(1, nodeCount)));
  if (needed > 30) throw new Error(`${formatCidr(cluster)} cannot hold ${nodeCount} node pod ranges`);
  return Math.max(24, needed);
}

/** Pod IPs a block can give: not the network address, the gateway (.1) or the broadcast address. */
export const usablePodIPs = (cidr: string) => parseCidr(cidr).size - 3;

/**
 * One node's pod IPs, like the host-local IPAM plugin: addresses go round-robin through the
 * block, so a freed address is not handed to the next pod at once (stale Endpoints would point
 * at the wrong pod).
 */
export class PodIpam {
  readonly cidr: Cidr;
  private readonly byOffset = new Map<number, string>();
  private readonly byUid = new Map<string, string>();
  private cursor = 2;

  constructor(cidr: string) {
    this.cidr = parseCidr(cidr);
  }

  /** The pod's address: the one it already has, else the next free one; undefined when full. */
  allocate(uid: string): string | undefined {
    const had = this.byUid.get(uid);
    if (had) return had;
    const first = 2;
    const last = this.cidr.size - 2;
    for (let tried = 0; tried <= last - first; tried++) {
      const offset = this.cursor;
      this.cursor = offset >= last ? first : offset + 1;
      if (this.byOffset.has(offset)) continue;
      const ip = intToIp(this.cidr.network + offset);
      this.byOffset.set(offset, uid);
      this.byUid.set(uid, ip);
      return ip;
    }
    return undefined;
  }

  /** Records an address a pod already reports (sim restarted); ignored outside the block or taken. */
  reserve(uid: string, ip: string): void {
    if (this.byUid.has(uid) || !cidrContains(this.cidr, ip)) return;
    const offset = parseIPv4(ip)! - this.cidr.network;
    if (this.byOffset.has(offset)) return;
    this.byOffset.set(offset, uid);
    this.byUid.set(uid, ip);
  }

  release(uid: string): void {
    const ip = this.byUid.get(uid);
    if (!ip) return;
    this.byUid.delete(uid);
    this.byOffset.delete(parseIPv4(ip)! - this.cidr.network);
  }

  get used() {
    return this.byUid.size;
  }
}
