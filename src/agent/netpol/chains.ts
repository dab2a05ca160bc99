// Names of the network policy chains (filter table). Like the proxy's, every one starts with
// BRAMBLE- so `bramble reset` removes them; per-pod and per-rule chains carry a hash because
// iptables limits chain names to 28 characters.

/** From FORWARD (first): replies pass, then each local pod a policy selects goes to its firewall. */
export const NWPLCY = "BRAMBLE-NWPLCY";
/** Per selected pod and direction: marks what some policy allows, rejects the rest. */
export const POD_FW_PREFIX = "BRAMBLE-POD-FW-";
/** Per policy rule (and per ipBlock with exceptions): marks traffic from/to its peers. */
export const RULE_PREFIX = "BRAMBLE-NWPLCY-";
/** The bit a policy chain sets when it allows a packet (the proxy uses 0x4000 and 0x8000). */
export const ALLOW_MARK = "0x10000/0x10000";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** 13 base32 characters of sha256(input). */
export function hash13(input: string): string {
  const bytes = new Bun.CryptoHasher("sha256").update(input).digest();
  let out = "";
  for (let i = 0; out.length < 13; i++) out += BASE32[bytes[i]! & 31];
  return out;
}

export const podFwChain = (podKey: string, direction: "ingress" | "egress") => `${POD_FW_PREFIX}${hash13(`${podKey}/${direction}`)}`;
export const ruleChain = (id: string) => `${RULE_PREFIX}${hash13(id)}`;
export const isPolicyChain = (name: string) => name === NWPLCY || name.startsWith(POD_FW_PREFIX) || name.startsWith(RULE_PREFIX);
