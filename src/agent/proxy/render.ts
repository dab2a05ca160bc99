// Services + EndpointSlices → iptables-restore text, the way kube-proxy's iptables mode lays it out
// (same chain roles, same mark, same probabilities), under BRAMBLE- chains. Pure: no I/O, so
// every feature is pinned by a snapshot test, and the applier can re-render one Service.
//
// Packet paths (nat):
//   PREROUTING/OUTPUT → BRAMBLE-SERVICES ─ ClusterIP:port ─────────────→ SVC (masq if from outside clusterCidr)
//                                      ├ externalIP / LB IP:port ────→ EXT
//                                      └ (dst LOCAL) → BRAMBLE-NODEPORTS ─ nodePort → EXT
//   EXT (policy Cluster) → MARK-MASQ, SVC      EXT (policy Local) → pods/host → SVC, the rest → SVL
//   SVC/SVL: hairpin masquerade, then DNAT to one endpoint (random 1/n, 1/(n-1), …; or the one
//   ClientIP affinity remembers)
//   POSTROUTING → BRAMBLE-POSTROUTING: MASQUERADE what was marked.
// filter: REJECT for Services without endpoints, DROP for Local-policy external traffic on a node
// without a local endpoint, ACCEPT for service traffic in FORWARD (Docker's policy there is DROP).
import { isIPv4 } from "../../api/ip";
import type { EndpointSlice } from "../../api/resources/discovery/endpointslice";
import { serviceKeyOfSlice } from "../../api/resources/discovery/labels";
import type { Service, ServicePort } from "../../api/resources/core/service";
import type { ClusterNetwork } from "../cluster-network";
import type { UdpPort } from "./conntrack";
import {
  EXTERNAL_SERVICES,
  extChain,
  FILTER_SERVICES,
  FIREWALL,
  FORWARD,
  DROP_MARK,
  fwChain,
  MARK_DROP,
  MARK_MASQ,
  MASQ_MARK,
  NODEPORTS,
  POSTROUTING,
  affinityList,
  SERVICES,
  svcChain,
  svlChain,
} from "./chains";

export interface ProxyState {
  services: Service[];
  /** Every Service's EndpointSlices; each names its Service in the kubernetes.io/service-name label. */
  slices: EndpointSlice[];
  /** Endpoints on this node count as local (externalTrafficPolicy Local). */
  nodeName: string;
  /** This node's addresses; NodePorts match any local address anyway, these are for the record. */
  nodeIps: string[];
  cluster: Pick<ClusterNetwork, "clusterCidr" | "serviceCidr">;
}

export interface RenderContext {
  nodeName: string;
  clusterCidr: string;
  serviceCidr: string;
}

/** One Service's share of the rules: lines for the shared dispatch chains, and its own chains. */
export interface RenderedService {
  /** namespace/name */
  key: string;
  natServices: string[];
  natNodePorts: string[];
  filterServices: string[];
  filterExternal: string[];
  /** Its own nat chains (SVC, EXT, SVL, FW), in order, each with its full "-A" lines. */
  chains: Map<string, string[]>;
  /** Its UDP ports' flows, by namespace/name:port, for deleting stale conntrack entries. */
  udp: Map<string, UdpPort>;
}

/** The proxy writes iptables (IPv4) rules only; an absent or non-IPv4 address is skipped. */
const isV4 = (ip: string | undefined): ip is string => !!ip && isIPv4(ip);
const q = (s: string) => `"${s}"`;
const comment = (s: string) => `-m comment --comment ${q(s)}`;
const match = (protocol: string, port: number) => `-p ${protocol} -m ${protocol} --dport ${port}`;

interface Endpoint {
  ip: string;
  port: number;
  local: boolean;
}

/**
 * The endpoints of one Service port, from every slice of the Service: the slice port with the same
 * name and protocol. As kube-proxy: the ready ones; when there are none, those still serving
 * while they terminate (so connections drain to them instead of being refused). The same for
 * this node's endpoints on their own (Local traffic policies).
 */
function endpointsFor(sp: ServicePort, slices: readonly EndpointSlice[] | undefined, nodeName: string): { cluster: Endpoint[]; local: Endpoint[] } {
  const ready = new Map<string, Endpoint>();
  const terminating = new Map<string, Endpoint>();
  for (const slice of slices ?? []) {
    if (slice.addressType !== "IPv4") continue;
    const port = (slice.ports ?? []).find((p) => (p.name ?? "") === (sp.name ?? "") && (p.protocol ?? "TCP") === (sp.protocol ?? "TCP"));
    if (port?.port === undefined) continue;
    for (const ep of slice.endpoints ?? []) {
      // Unset conditions: ready unless said otherwise; serving as ready; not terminating.
      const isReady = ep.conditions?.ready ?? true;
      const serving = ep.conditions?.serving ?? isReady;
      const into = isReady ? ready : serving && ep.conditions?.terminating ? terminating : undefined;
      const ip = ep.addresses?.[0];
      if (!into || !isV4(ip)) continue;
      into.set(`${ip}:${port.port}`, { ip, port: port.port, local: ep.nodeName === nodeName });
    }
  }
  for (const k of ready.keys()) terminating.delete(k);
  // Sorted so the rules (and so the chains' hashes and the diff against the last sync) are stable.
  const sorted = (m: Iterable<Endpoint>) => [...m].sort((a, b) => compareIp(a.ip, b.ip) || a.port - b.port);
  const readyList = sorted(ready.values());
  const terminatingList = sorted(terminating.values());
  const localReady = readyList.filter((e) => e.local);
  return {
    cluster: readyList.length ? readyList : terminatingList,
    local: localReady.length ? localReady : terminatingList.filter((e) => e.local),
  };
}

const ipNumber = (ip: string) => ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);

function cidrContains(cidr: string, ip: string): boolean {
  const [base, bits = "32"] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipNumber(ip) / size) === Math.floor(ipNumber(base!) / size);
}

function compareIp(a: string, b: string): number {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < 4; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/**
 * Rules of the SVC or SVL chain: affinity checks first, then the random spread, each rule DNATing
 * itself. kube-proxy gives every endpoint a chain of its own (SEP) holding the DNAT; with
 * nf_tables-backed iptables, restore time grows with the number of chains (1,000 Services × 5
 * endpoints: 6,100 chains restore ~3× slower than 1,100 with the same rules inline), so the DNAT
 * sits in the Service's chain and the endpoint's identity lives only in its affinity list name.
 */
function spread(chain: string, spn: string, protocol: string, eps: Endpoint[], affinitySeconds: number | undefined, listOf: (e: Endpoint) => string): string[] {
  const lines: string[] = [];
  const dnat = (e: Endpoint) => `-p ${protocol} -m ${protocol} -j DNAT --to-destination ${e.ip}:${e.port}`;
  if (affinitySeconds !== undefined)
    for (const e of eps)
      lines.push(`-A ${chain} ${comment(`${spn} -> ${e.ip}:${e.port}`)} -m recent --name ${listOf(e)} --update --seconds ${affinitySeconds} --reap ${dnat(e)}`);
  eps.forEach((e, i) => {
    const left = eps.length - i;
    const probability = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(10)}` : "";
    const remember = affinitySeconds !== undefined ? ` -m recent --name ${listOf(e)} --set` : "";
    lines.push(`-A ${chain} ${comment(`${spn} -> ${e.ip}:${e.port}`)}${probability}${remember} ${dnat(e)}`);
  });
  return lines;
}

/** The rules of one Service; undefined for those the proxy does not program (headless, ExternalName, IPv6). */
export function renderService(svc: Service, slices: readonly EndpointSlice[] | undefined, ctx: RenderContext): RenderedService | undefined {
  const spec = svc.spec ?? {};
  const clusterIP = spec.clusterIP;
  if (spec.type === "ExternalName" || !isV4(clusterIP)) return undefined;
  const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
  const r: RenderedService = { key, natServices: [], natNodePorts: [], filterServices: [], filterExternal: [], chains: new Map(), udp: new Map() };
  const type = spec.type ?? "ClusterIP";
  const usesNodePorts = type === "NodePort" || type === "LoadBalancer";
  const externalIPs = (spec.externalIPs ?? []).filter(isV4);
  const lbIPs = type === "LoadBalancer" ? (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter(isV4) : [];
  const sourceRanges = type === "LoadBalancer" ? (spec.loadBalancerSourceRanges ?? []).map((r) => r.trim()).filter((r) => isV4(r.split("/")[0])) : [];
  const affinity = spec.sessionAffinity === "ClientIP" ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : undefined;

  for (const sp of spec.ports ?? []) {
    const protocol = (sp.protocol ?? "TCP").toLowerCase();
    const spn = `${key}:${sp.name || sp.port}`;
    const nodePort = usesNodePorts && sp.nodePort ? sp.nodePort : undefined;
    const hasExternal = nodePort !== undefined || externalIPs.length > 0 || lbIPs.length > 0;
    const localPolicy = usesNodePorts && spec.externalTrafficPolicy === "Local" && hasExternal;
    const { cluster: ready, local } = endpointsFor(sp, slices, ctx.nodeName);
    // External destinations of this port, each as the match that selects it.
    const externals: [string, string, "lb" | "ext"][] = [
      ...externalIPs.map((ip): [string, string, "ext"] => [`${spn} external IP`, `-d ${ip}/32 ${match(protocol, sp.port)}`, "ext"]),
      ...lbIPs.map((ip): [string, string, "lb"] => [`${spn} loadbalancer IP`, `-d ${ip}/32 ${match(protocol, sp.port)}`, "lb"]),
    ];
    const nodePortMatch = nodePort !== undefined ? `-m addrtype --dst-type LOCAL ${match(protocol, nodePort)}` : undefined;
    if (protocol === "udp") r.udp.set(spn, { dsts: [clusterIP, ...externalIPs, ...lbIPs], nodePort, endpoints: ready.map((e) => e.ip) });

    if (ready.length === 0) {
      // No DNAT: the packet keeps its Service address and the filter table refuses it at once,
      // instead of letting it time out.
      r.filterServices.push(`-A ${FILTER_SERVICES} ${comment(`${spn} has no endpoints`)} -d ${clusterIP}/32 ${match(protocol, sp.port)} -j REJECT --reject-with icmp-port-unreachable`);
      for (const [, m] of externals) r.filterExternal.push(`-A ${EXTERNAL_SERVICES} ${comment(`${spn} has no endpoints`)} ${m} -j REJECT --reject-with icmp-port-unreachable`);
      if (nodePortMatch) r.filterExternal.push(`-A ${EXTERNAL_SERVICES} ${comment(`${spn} has no endpoints`)} ${nodePortMatch} -j REJECT --reject-with icmp-port-unreachable`);
      continue;
    }

    const svc_ = svcChain(spn, protocol);
    const svl = svlChain(spn, protocol);
    const internalLocal = spec.internalTrafficPolicy === "Local";
    const listOf = (e: Endpoint) => affinityList(spn, protocol, `${e.ip}:${e.port}`);
    // Hairpin: a pod reaching itself through the Service must not see its own address as the
    // source, or it would answer itself directly and drop the reply. Marked whenever the client
    // is one of the endpoints (before the pick), so an endpoint calling its Service and landing
    // on another endpoint is masqueraded too: harmless, and one rule per endpoint either way.
    const hairpin = (chain: string, eps: Endpoint[]) => eps.map((e) => `-A ${chain} ${comment(`${spn} hairpin ${e.ip}`)} -s ${e.ip}/32 -j ${MARK_MASQ}`);

    // The cluster chain (every ready endpoint) serves ClusterIP traffic, unless
    // internalTrafficPolicy is Local, and external traffic (policy Cluster; pods and the node
    // itself under policy Local). The local chain (this node's endpoints) serves what a Local
    // policy keeps on the node.
    if (!internalLocal || hasExternal)
      r.chains.set(svc_, [
        // Clients outside the pod network (the node itself, other hosts) are masqueraded so
        // replies come back through this node and get un-DNATed.
        `-A ${svc_} ${comment(`${spn} cluster IP`)} -d ${clusterIP}/32 ${match(protocol, sp.port)} ! -s ${ctx.clusterCidr} -j ${MARK_MASQ}`,
        ...hairpin(svc_, ready),
        ...spread(svc_, spn, protocol, ready, affinity, listOf),
      ]);
    if ((internalLocal || localPolicy) && local.length > 0)
      // External traffic never comes from a pod (pods were sent to the cluster chain), so hairpin
      // rules are needed only when pods use this chain for the ClusterIP.
      r.chains.set(svl, [...(internalLocal ? hairpin(svl, local) : []), ...spread(svl, spn, protocol, local, affinity, listOf)]);

    if (!internalLocal) r.natServices.push(`-A ${SERVICES} ${comment(`${spn} cluster IP`)} -d ${clusterIP}/32 ${match(protocol, sp.port)} -j ${svc_}`);
    else if (local.length > 0) r.natServices.push(`-A ${SERVICES} ${comment(`${spn} cluster IP`)} -d ${clusterIP}/32 ${match(protocol, sp.port)} -j ${svl}`);
    // internalTrafficPolicy Local and nothing here: dropped, as kube-proxy (the client's node is
    // the wrong place, not the Service).
    else r.filterServices.push(`-A ${FILTER_SERVICES} ${comment(`${spn} has no local endpoints`)} -d ${clusterIP}/32 ${match(protocol, sp.port)} -j DROP`);

    if (hasExternal) {
      const ext = extChain(spn, protocol);
      // loadBalancerSourceRanges: load-balancer IPs go through a firewall chain letting only those
      // sources (and the node itself, when a range holds a load-balancer IP, for hairpin through
      // it) on to EXT; the rest is marked and dropped in filter. NodePorts stay open, as upstream.
      const fw = sourceRanges.length > 0 && lbIPs.length > 0 ? fwChain(spn, protocol) : undefined;
      for (const [what, m, kind] of externals) r.natServices.push(`-A ${SERVICES} ${comment(what)} ${m} -j ${kind === "lb" && fw ? fw : ext}`);
      if (fw) {
        const fromLb = lbIPs.filter((ip) => sourceRanges.some((range) => cidrContains(range, ip)));
        r.chains.set(fw, [
          ...sourceRanges.map((range) => `-A ${fw} ${comment(`${spn} loadbalancer IP`)} -s ${range} -j ${ext}`),
          ...fromLb.map((ip) => `-A ${fw} ${comment(`${spn} loadbalancer IP`)} -s ${ip}/32 -j ${ext}`),
          `-A ${fw} ${comment(`${spn} other traffic to loadbalancer IP`)} -j ${MARK_DROP}`,
        ]);
      }
      if (nodePort !== undefined) r.natNodePorts.push(`-A ${NODEPORTS} ${comment(spn)} ${match(protocol, nodePort)} -j ${ext}`);
      if (!localPolicy) {
        r.chains.set(ext, [`-A ${ext} ${comment(`masquerade traffic for ${spn} external destinations`)} -j ${MARK_MASQ}`, `-A ${ext} -j ${svc_}`]);
      } else {
        const lines = [
          // Pods and the node itself are not "external": they may use any endpoint, as kube-proxy.
          `-A ${ext} ${comment(`pod traffic for ${spn} external destinations`)} -s ${ctx.clusterCidr} -j ${svc_}`,
          `-A ${ext} ${comment(`masquerade LOCAL traffic for ${spn} external destinations`)} -m addrtype --src-type LOCAL -j ${MARK_MASQ}`,
          `-A ${ext} ${comment(`route LOCAL traffic for ${spn} external destinations`)} -m addrtype --src-type LOCAL -j ${svc_}`,
        ];
        if (local.length > 0) lines.push(`-A ${ext} -j ${svl}`);
        else {
          // Keeping the client's address means only this node's endpoints may answer: with none,
          // the traffic is dropped (a load balancer's health check sends it elsewhere).
          for (const [, m] of externals) r.filterExternal.push(`-A ${EXTERNAL_SERVICES} ${comment(`${spn} has no local endpoints`)} ${m} -j DROP`);
          if (nodePortMatch) r.filterExternal.push(`-A ${EXTERNAL_SERVICES} ${comment(`${spn} has no local endpoints`)} ${nodePortMatch} -j DROP`);
        }
        r.chains.set(ext, lines);
      }
    }
  }
  return r;
}

export function renderContext(state: Pick<ProxyState, "nodeName" | "cluster">): RenderContext {
  return { nodeName: state.nodeName, clusterCidr: state.cluster.clusterCidr, serviceCidr: state.cluster.serviceCidr };
}

/** Every Service's rules, in namespace/name order. */
export function renderAllServices(state: ProxyState): RenderedService[] {
  const ctx = renderContext(state);
  const slices = new Map<string, EndpointSlice[]>();
  for (const s of state.slices) {
    const key = serviceKeyOfSlice(s);
    if (key) slices.set(key, [...(slices.get(key) ?? []), s]);
  }
  const out: RenderedService[] = [];
  for (const svc of state.services) {
    const r = renderService(svc, slices.get(`${svc.metadata.namespace}/${svc.metadata.name}`), ctx);
    if (r) out.push(r);
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The rules of BRAMBLE-SERVICES and BRAMBLE-NODEPORTS (nat), rewritten whole on every sync that changes them. */
export function natDispatch(parts: Iterable<RenderedService>): string[] {
  const services: string[] = [];
  const nodePorts: string[] = [];
  for (const p of parts) {
    services.push(...p.natServices);
    nodePorts.push(...p.natNodePorts);
  }
  // Last, so a ClusterIP or external IP rule always wins over a NodePort on the same address.
  services.push(`-A ${SERVICES} ${comment("bramble service nodeports; NOTE: this must be the last rule in this chain")} -m addrtype --dst-type LOCAL -j ${NODEPORTS}`);
  return [...services, ...nodePorts];
}

/** The nat chains that do not depend on any Service. */
export function natStatic(): string[] {
  return [
    `-A ${POSTROUTING} -m mark ! --mark ${MASQ_MARK}/${MASQ_MARK} -j RETURN`,
    // Cleared so a packet re-entering the stack (hairpin through a bridge) is not masqueraded twice.
    `-A ${POSTROUTING} -j MARK --xor-mark ${MASQ_MARK}`,
    `-A ${POSTROUTING} ${comment("bramble service traffic requiring SNAT")} -j MASQUERADE --random-fully`,
    `-A ${MARK_MASQ} -j MARK --or-mark ${MASQ_MARK}`,
    `-A ${MARK_DROP} -j MARK --or-mark ${DROP_MARK}`,
  ];
}

/** The whole filter table's bramble rules: small (only Services without endpoints add to it), so always rewritten whole. */
export function filterRules(parts: Iterable<RenderedService>, ctx: RenderContext): string[] {
  const services: string[] = [];
  const external: string[] = [];
  for (const p of parts) {
    services.push(...p.filterServices);
    external.push(...p.filterExternal);
  }
  return [
    ...services,
    // A Service address with no rule behind it (no such Service, or the port is wrong) is refused
    // here instead of following the default route off the node — also where the pod network's
    // unreachable route for the range is absent (--flannel-backend none). Addresses bound on the
    // node (the cluster DNS address) are not Services.
    `-A ${FILTER_SERVICES} ${comment("service addresses with no rule")} -d ${ctx.serviceCidr} -m addrtype ! --dst-type LOCAL -j REJECT --reject-with icmp-net-unreachable`,
    ...external,
    `-A ${FORWARD} ${comment("bramble forwarding rules")} -m mark --mark ${MASQ_MARK}/${MASQ_MARK} -j ACCEPT`,
    `-A ${FORWARD} ${comment("bramble forwarding conntrack rule")} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    // externalTrafficPolicy Local traffic is not marked (its source is kept) but is DNATed to a pod.
    `-A ${FORWARD} ${comment("bramble service traffic to pods")} -d ${ctx.clusterCidr} -m conntrack --ctstate DNAT -j ACCEPT`,
    // route_localnet (for 127.0.0.1 NodePorts) would otherwise accept 127.0.0.0/8 from the wire.
    `-A ${FIREWALL} ${comment("bramble firewall for dropping marked packets")} -m mark --mark ${DROP_MARK}/${DROP_MARK} -j DROP`,
    `-A ${FIREWALL} ${comment("block incoming localnet connections")} -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
  ];
}

export const NAT_STATIC_CHAINS = [SERVICES, NODEPORTS, POSTROUTING, MARK_MASQ, MARK_DROP];
export const FILTER_CHAINS = [FILTER_SERVICES, EXTERNAL_SERVICES, FORWARD, FIREWALL];

export interface TableText {
  /** Chains to (create and) flush: every rule they keep must be in `rules`. */
  chains: string[];
  rules: string[];
  /** Chains to delete (they are flushed first by being listed in `chains` too). */
  deletes?: string[];
}

/** iptables-restore input; with --noflush only the chains named here change, each table atomically. */
export function restoreText(tables: { nat?: TableText; filter?: TableText }): string {
  let out = "";
  for (const [name, t] of [["filter", tables.filter], ["nat", tables.nat]] as const) {
    if (!t) continue;
    const declared = [...t.chains, ...(t.deletes ?? [])];
    out += `*${name}\n`;
    for (const c of declared) out += `:${c} - [0:0]\n`;
    for (const r of t.rules) out += `${r}\n`;
    for (const c of t.deletes ?? []) out += `-X ${c}\n`;
    out += "COMMIT\n";
  }
  return out;
}

/** The complete rule set for this state, as a full sync writes it. */
export function renderRules(state: ProxyState): string {
  const parts = renderAllServices(state);
  return renderFull(parts, renderContext(state));
}

export function renderFull(parts: RenderedService[], ctx: RenderContext, staleChains: string[] = []): string {
  const chains = [...NAT_STATIC_CHAINS];
  const rules = [...natStatic(), ...natDispatch(parts)];
  for (const p of parts)
    for (const [chain, lines] of p.chains) {
      chains.push(chain);
      rules.push(...lines);
    }
  return restoreText({
    filter: { chains: FILTER_CHAINS, rules: filterRules(parts, ctx) },
    nat: { chains, rules, deletes: staleChains },
  });
}
