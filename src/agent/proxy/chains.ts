// Names of the chains the proxy owns. Every one starts with BRAMBLE- so `bramble reset` and the
// stale-chain sweep can find them, and never touch anyone else's (Docker's, kube-proxy's).
// Per-service chains carry a hash of the service port because iptables limits
// chain names to 28 characters: "BRAMBLE-SVC-" (12) + 16 hash characters.

export const CHAIN_PREFIX = "BRAMBLE-";

/** nat: entry point from PREROUTING and OUTPUT; one rule per ClusterIP/external IP, NODEPORTS last. */
export const SERVICES = "BRAMBLE-SERVICES";
/** nat: one rule per NodePort, reached for packets to any local address (127.0.0.1 included). */
export const NODEPORTS = "BRAMBLE-NODEPORTS";
/** nat: masquerades what MARK-MASQ marked; from POSTROUTING. */
export const POSTROUTING = "BRAMBLE-POSTROUTING";
export const MARK_MASQ = "BRAMBLE-MARK-MASQ";
/** nat: marks a packet for the filter table to drop (nat chains may not DROP). */
export const MARK_DROP = "BRAMBLE-MARK-DROP";
/** filter: REJECT for ClusterIPs without endpoints; from OUTPUT and FORWARD (new connections). */
export const FILTER_SERVICES = "BRAMBLE-SERVICES";
/** filter: REJECT/DROP for NodePorts and external IPs without (local) endpoints; from INPUT and FORWARD. */
export const EXTERNAL_SERVICES = "BRAMBLE-EXTERNAL-SERVICES";
/** filter: lets DNATed service traffic through a FORWARD policy of DROP (Docker sets one). */
export const FORWARD = "BRAMBLE-FORWARD";
/** filter: drops what MARK-DROP marked, and packets from outside aimed at 127.0.0.0/8 (route_localnet would let them in). */
export const FIREWALL = "BRAMBLE-FIREWALL";

/** The bit MARK-MASQ sets; same value as kube-proxy's so the two never disagree on a shared host. */
export const MASQ_MARK = "0x4000";
export const DROP_MARK = "0x8000";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const hashCache = new Map<string, string>();

/** 16 base32 characters of sha256(input): 80 bits, collisions are not a practical concern. */
function shortHash(input: string): string {
  let h = hashCache.get(input);
  if (h) return h;
  const bytes = new Bun.CryptoHasher("sha256").update(input).digest();
  h = "";
  // 16 characters × 5 bits = 80 bits = the first 10 bytes.
  let bits = 0;
  let value = 0;
  for (let i = 0; h.length < 16; i++) {
    value = (value << 8) | bytes[i]!;
    bits += 8;
    while (bits >= 5 && h.length < 16) {
      h += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (hashCache.size > 100_000) hashCache.clear();
  hashCache.set(input, h);
  return h;
}

/** The Service port's cluster chain (all ready endpoints). */
export const svcChain = (servicePort: string, protocol: string) => `BRAMBLE-SVC-${shortHash(`${servicePort}/${protocol}`)}`;
/** The Service port's chain for external traffic (NodePort, external IPs, load-balancer IPs). */
export const extChain = (servicePort: string, protocol: string) => `BRAMBLE-EXT-${shortHash(`${servicePort}/${protocol}`)}`;
/** The Service port's load-balancer firewall (loadBalancerSourceRanges). */
export const fwChain = (servicePort: string, protocol: string) => `BRAMBLE-FW-${shortHash(`${servicePort}/${protocol}`)}`;
/** The Service port's local-endpoints chain, for externalTrafficPolicy Local. */
export const svlChain = (servicePort: string, protocol: string) => `BRAMBLE-SVL-${shortHash(`${servicePort}/${protocol}`)}`;
/** The `-m recent` list remembering which clients ClientIP affinity sent to one endpoint (not a chain). */
export const affinityList = (servicePort: string, protocol: string, endpoint: string) => `BRAMBLE-AFF-${shortHash(`${servicePort}/${protocol}/${endpoint}`)}`;
