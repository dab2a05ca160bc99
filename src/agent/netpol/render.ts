// NetworkPolicy → iptables, pure: from the policies, the pods and the namespaces' labels, the
// filter-table chains that enforce the policies for the pods on this node. Layout:
//
//   FORWARD → BRAMBLE-NWPLCY: replies (ESTABLISHED,RELATED) return at once; then a packet from a
//     local pod some policy isolates for egress goes to that pod's egress firewall, and a packet
//     to a local pod isolated for ingress to its ingress firewall.
//   BRAMBLE-POD-FW-<hash(pod/direction)>: clears the allow mark, runs every rule of every policy
//     that selects the pod (ports here for ingress, named ports resolved on the pod itself), then
//     returns if some rule set the mark, or rejects.
//   BRAMBLE-NWPLCY-<hash(rule)>: one per policy rule with peers; sets the mark for its peers
//     (pods by podSelector/namespaceSelector, CIDRs); for egress the ports too, named ports
//     resolved on each peer pod. An ipBlock with exceptions gets a chain of its own, so an
//     exception returns from that block only.
//
// Nothing here ACCEPTs: an allowed packet goes on through the rest of FORWARD (the pod network's
// and Docker's rules). Traffic from the node itself (OUTPUT → pod, kubelet probes) never passes
// FORWARD and so is always allowed, as upstream requires.
import type { Namespace } from "../../api/resources/core/namespace";
import type { Pod } from "../../api/resources/core/pod";
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from "../../api/resources/networking/networkpolicy";
import { ALLOW_MARK, NWPLCY, podFwChain, ruleChain } from "./chains";
import { matches } from "./selector";

export interface PolicyInput {
  nodeName: string;
  policies: Iterable<NetworkPolicy>;
  pods: Iterable<Pod>;
  namespaces: Iterable<Namespace>;
}

/** Chain name → its rules (`-A` lines), in the order they are written. */
export type Chains = Map<string, string[]>;

type Direction = "ingress" | "egress";

/** A pod that takes part: it has an IP of its own on the pod network and is not finished. */
export const hasPodIp = (p: Pod) => !!p.status?.podIP && !p.spec?.hostNetwork && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";

const keyOf = (o: { metadata: { namespace?: string; name?: string } }) => `${o.metadata.namespace}/${o.metadata.name}`;
const comment = (s: string) => `-m comment --comment "${s.replace(/"/g, "'")}"`;
const proto = (p: NetworkPolicyPort) => (p.protocol ?? "TCP").toLowerCase();

/** A named port of the pod for the protocol (upstream: the first container port with that name). */
export function resolveNamedPort(pod: Pod, name: string, protocol: string): number | undefined {
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])])
    for (const p of c.ports ?? []) if (p.name === name && (p.protocol ?? "TCP") === protocol) return p.containerPort;
  return undefined;
}

/**
 * The iptables match for one policy port on the given pod (for named ports), or undefined when a
 * named port does not resolve there (the port then allows nothing for that pod).
 */
export function portMatch(p: NetworkPolicyPort, pod?: Pod): string | undefined {
  const pr = proto(p);
  if (p.port === undefined) return `-p ${pr}`;
  if (typeof p.port === "string") {
    const n = pod ? resolveNamedPort(pod, p.port, p.protocol ?? "TCP") : undefined;
    return n === undefined ? undefined : `-p ${pr} -m ${pr} --dport ${n}`;
  }
  return p.endPort !== undefined && p.endPort > p.port ? `-p ${pr} -m ${pr} --dport ${p.port}:${p.endPort}` : `-p ${pr} -m ${pr} --dport ${p.port}`;
}

/** Which pods a peer's selectors choose, for a policy in `namespace`. */
export function peerPods(peer: NetworkPolicyPeer, namespace: string, pods: readonly Pod[], nsLabels: ReadonlyMap<string, Record<string, string>>): Pod[] {
  if (peer.ipBlock || (!peer.podSelector && !peer.namespaceSelector)) return [];
  return pods.filter((p) => {
    const ns = p.metadata.namespace ?? "";
    if (peer.namespaceSelector ? !nsLabels.has(ns) || !matches(peer.namespaceSelector, nsLabels.get(ns)) : ns !== namespace) return false;
    return peer.podSelector ? matches(peer.podSelector, p.metadata.labels) : true;
  });
}

/** Whether the policy isolates its pods in that direction (policyTypes, defaulted as upstream's). */
export function policyApplies(np: NetworkPolicy, dir: Direction): boolean {
  const types = np.spec?.policyTypes?.length ? np.spec.policyTypes : np.spec?.egress?.length ? ["Ingress", "Egress"] : ["Ingress"];
  return types.includes(dir === "ingress" ? "Ingress" : "Egress");
}

export function renderPolicies(input: PolicyInput): Chains {
  const pods = [...input.pods].filter(hasPodIp).sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
  const nsLabels = new Map<string, Record<string, string>>();
  for (const ns of input.namespaces) nsLabels.set(ns.metadata.name!, ns.metadata.labels ?? {});
  const policies = [...input.policies].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
  const chains: Chains = new Map();
  const dispatch: string[] = [`-A ${NWPLCY} -m conntrack --ctstate RELATED,ESTABLISHED ${comment("replies to allowed connections")} -j RETURN`];
  chains.set(NWPLCY, dispatch);
  const mark = `-j MARK --set-xmark ${ALLOW_MARK}`;

  /** The chain that marks a rule's peers (and, for egress, its ports); created once per rule. */
  const peerChain = (np: NetworkPolicy, dir: Direction, index: number, peers: NetworkPolicyPeer[], ports: NetworkPolicyPort[]): string => {
    const id = `${keyOf(np)}/${dir}/${index}`;
    const name = ruleChain(id);
    if (chains.has(name)) return name;
    const lines: string[] = [];
    chains.set(name, lines);
    const addr = dir === "ingress" ? "-s" : "-d";
    const note = comment(`${keyOf(np)} ${dir} rule ${index}`);
    // Ingress ports are matched in the pod's chain; egress ports here, resolved on each peer.
    const portsFor = (pod?: Pod): string[] => {
      if (dir === "ingress" || ports.length === 0) return [""];
      return ports.map((p) => portMatch(p, pod)).filter((m): m is string => m !== undefined).map((m) => ` ${m}`);
    };
    peers.forEach((peer, j) => {
      if (peer.ipBlock) {
        const block = peer.ipBlock;
        // IPv4 rules only: an IPv6 block matches nothing here (pods have IPv4 addresses).
        if (block.cidr.includes(":")) return;
        let target = name;
        const except = (block.except ?? []).filter((e) => !e.includes(":"));
        if (except.length) {
          target = ruleChain(`${id}/${j}`);
          const sub: string[] = except.map((e) => `-A ${target} ${addr} ${e} ${note} -j RETURN`);
          chains.set(target, sub);
          lines.push(`-A ${name} ${addr} ${block.cidr} ${note} -j ${target}`);
        }
        for (const pm of portsFor()) chains.get(target)!.push(`-A ${target} ${addr} ${block.cidr}${pm} ${note} ${mark}`);
        return;
      }
      for (const pod of peerPods(peer, np.metadata.namespace ?? "", pods, nsLabels))
        for (const pm of portsFor(pod)) lines.push(`-A ${name} ${addr} ${pod.status!.podIP}/32${pm} ${note} ${mark}`);
    });
    return name;
  };

  for (const dir of ["egress", "ingress"] as const) {
    for (const pod of pods) {
      if (pod.spec?.nodeName !== input.nodeName) continue;
      const selecting = policies.filter((np) => np.metadata.namespace === pod.metadata.namespace && policyApplies(np, dir) && matches(np.spec?.podSelector ?? {}, pod.metadata.labels));
      if (selecting.length === 0) continue;
      const fw = podFwChain(keyOf(pod), dir);
      const lines = [`-A ${fw} -j MARK --set-xmark 0x0/${ALLOW_MARK.split("/")[1]}`];
      for (const np of selecting) {
        const rules = dir === "ingress" ? (np.spec?.ingress ?? []).map((r) => ({ ports: r.ports ?? [], peers: r.from ?? [] })) : (np.spec?.egress ?? []).map((r) => ({ ports: r.ports ?? [], peers: r.to ?? [] }));
        rules.forEach((r, i) => {
          const note = comment(`${keyOf(np)} ${dir} rule ${i}`);
          const target = r.peers.length ? `-j ${peerChain(np, dir, i, r.peers, r.ports)}` : mark;
          // Egress ports live in the peer chain; without peers (any destination) they are matched here.
          const portMatches = r.ports.length === 0 || (dir === "egress" && r.peers.length) ? [""] : r.ports.map((p) => portMatch(p, dir === "ingress" ? pod : undefined));
          for (const pm of portMatches) if (pm !== undefined) lines.push(`-A ${fw}${pm ? ` ${pm}` : ""} ${note} ${target}`);
        });
      }
      lines.push(`-A ${fw} -m mark --mark ${ALLOW_MARK} -j RETURN`);
      lines.push(`-A ${fw} ${comment(`${keyOf(pod)} ${dir} not allowed by any policy`)} -j REJECT`);
      chains.set(fw, lines);
      dispatch.push(`-A ${NWPLCY} ${dir === "ingress" ? "-d" : "-s"} ${pod.status!.podIP}/32 ${comment(`${keyOf(pod)} ${dir}`)} -j ${fw}`);
    }
  }
  return chains;
}

/**
 * iptables-restore text (filter table, --noflush) that makes our chains exactly `chains`:
 * every wanted and stale chain is declared (which empties it), the rules written, stale ones deleted.
 */
export function restoreText(chains: Chains, stale: readonly string[]): string {
  const names = [...chains.keys()];
  return ["*filter", ...names.map((c) => `:${c} - [0:0]`), ...stale.map((c) => `:${c} - [0:0]`), ...names.flatMap((c) => chains.get(c)!), ...stale.map((c) => `-X ${c}`), "COMMIT", ""].join("\n");
}
