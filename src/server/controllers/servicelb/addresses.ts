// Pure: which addresses a LoadBalancer Service gets, by k3s ServiceLB's rules. k3s runs a
// DaemonSet of svclb pods per Service and lists the addresses of the nodes where such a pod is
// Ready; bramble has no such pods (every agent's iptables proxy already answers on the ingress
// addresses), so the same rules are applied to the nodes directly:
// - a node serves when it is Ready and a svclb pod could run there: its NoSchedule/NoExecute
//   taints are all ones that pod tolerates (so a cordoned node keeps serving, as in k3s, where
//   DaemonSet pods tolerate `unschedulable`);
// - when any node carries the label `svccontroller.k3s.cattle.io/enablelb` (any value), only
//   nodes with the value "true" serve, and a Service labelled `svccontroller.k3s.cattle.io/lbpool`
//   only gets the enabled nodes of that pool;
// - svclb pods listen on hostPorts, so on each node the oldest LoadBalancer Service using a
//   port/protocol holds it and a later Service wanting the same port is not served on that node
//   (k3s: its pod stays Pending there; with no free node at all, the Service stays <pending>);
// - with externalTrafficPolicy Local, only nodes with a ready endpoint of the Service serve;
// - if any serving node has an ExternalIP, only ExternalIPs are listed, else InternalIPs; per
//   IP family of the Service, each family sorted.
import type { Endpoints } from "../../../api/resources/core/endpoints";
import type { Node, Taint } from "../../../api/resources/core/node";
import type { Service } from "../../../api/resources/core/service";
import { isIPv4 } from "../../../api/ip";

export const ENABLE_LB_LABEL = "svccontroller.k3s.cattle.io/enablelb";
export const LB_POOL_LABEL = "svccontroller.k3s.cattle.io/lbpool";

/** A LoadBalancer Service this controller implements (one with a loadBalancerClass belongs to another). */
export const wantsLoadBalancer = (svc: Service) => svc.spec?.type === "LoadBalancer" && !svc.spec.loadBalancerClass;

/** Taints a svclb pod tolerates: its own tolerations plus the ones every DaemonSet pod gets. */
const TOLERATED_KEYS = new Set([
  "node-role.kubernetes.io/master",
  "node-role.kubernetes.io/control-plane",
  "CriticalAddonsOnly",
  "node.kubernetes.io/not-ready",
  "node.kubernetes.io/unreachable",
  "node.kubernetes.io/unschedulable",
  "node.kubernetes.io/disk-pressure",
  "node.kubernetes.io/memory-pressure",
  "node.kubernetes.io/pid-pressure",
]);

const blocksPod = (t: Taint) => (t.effect === "NoSchedule" || t.effect === "NoExecute") && !TOLERATED_KEYS.has(t.key);

export const isNodeReady = (node: Node) => node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** k3s: any node labelled for ServiceLB (whatever the value) restricts it to nodes labelled "true". */
export const lbNodesRestricted = (nodes: Iterable<Node>) => {
  for (const n of nodes) if (n.metadata.labels?.[ENABLE_LB_LABEL] !== undefined) return true;
  return false;
};

export function nodeServes(node: Node, svc: Service, restricted: boolean): boolean {
  if (node.metadata.deletionTimestamp || !isNodeReady(node)) return false;
  if ((node.spec?.taints ?? []).some(blocksPod)) return false;
  if (restricted) {
    const labels = node.metadata.labels ?? {};
    if (labels[ENABLE_LB_LABEL] !== "true") return false;
    const pool = svc.metadata.labels?.[LB_POOL_LABEL];
    if (pool && labels[LB_POOL_LABEL] !== pool) return false;
  }
  return true;
}

/** Nodes with a ready endpoint of the Service (for externalTrafficPolicy Local). */
export function nodesWithReadyEndpoints(ep: Endpoints | undefined): Set<string> {
  const out = new Set<string>();
  for (const s of ep?.subsets ?? []) for (const a of s.addresses ?? []) if (a.nodeName) out.add(a.nodeName);
  return out;
}

const keyOf = (svc: Service) => `${svc.metadata.namespace}/${svc.metadata.name}`;
const portsOf = (svc: Service) => [...new Set((svc.spec?.ports ?? []).map((p) => `${p.port}/${p.protocol ?? "TCP"}`))];
const byAge = (a: Service, b: Service) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "");

export interface PortAssignment {
  /** Nodes where the Service holds all its ports. */
  nodes: Set<string>;
  /** Where it does not, and who holds the port there. */
  blocked: { node: string; port: string; holder: string }[];
}

/**
 * Hands each node's ports to the LoadBalancer Services that may use the node, oldest first.
 * Creation times have one-second resolution, so among Services of the same second the one
 * already listing the node's address keeps it (no flapping), then the first by name.
 */
export function assignPorts(services: Iterable<Service>, nodes: Node[]): Map<string, PortAssignment> {
  const lbs = [...services].filter(wantsLoadBalancer).sort((a, b) => byAge(a, b) || keyOf(a).localeCompare(keyOf(b)));
  const restricted = lbNodesRestricted(nodes);
  const out = new Map<string, PortAssignment>(lbs.map((s) => [keyOf(s), { nodes: new Set<string>(), blocked: [] }]));
  for (const node of nodes) {
    const addresses = new Set((node.status?.addresses ?? []).map((a) => a.address));
    const listsNode = (svc: Service) => currentIngress(svc).some((ip) => addresses.has(ip));
    const order = [...lbs].sort((a, b) => byAge(a, b) || Number(listsNode(b)) - Number(listsNode(a)));
    const holders = new Map<string, string>();
    for (const svc of order) {
      if (!nodeServes(node, svc, restricted)) continue;
      const ports = portsOf(svc);
      const clash = ports.find((p) => holders.has(p));
      const mine = out.get(keyOf(svc))!;
      if (clash) {
        mine.blocked.push({ node: node.metadata.name!, port: clash, holder: holders.get(clash)! });
        continue;
      }
      for (const p of ports) holders.set(p, keyOf(svc));
      mine.nodes.add(node.metadata.name!);
    }
  }
  return out;
}

/**
 * The ingress IPs the Service should have, in k3s's order. `holding`: the nodes where the
 * Service holds its ports (assignPorts); all serving nodes when not given.
 */
export function loadBalancerIPs(svc: Service, nodes: Node[], endpoints: Endpoints | undefined, holding?: Set<string>): string[] {
  const restricted = lbNodesRestricted(nodes);
  const local = svc.spec?.externalTrafficPolicy === "Local" ? nodesWithReadyEndpoints(endpoints) : undefined;
  const external = new Set<string>();
  const internal = new Set<string>();
  for (const node of nodes) {
    if (!nodeServes(node, svc, restricted)) continue;
    if (holding && !holding.has(node.metadata.name!)) continue;
    if (local && !local.has(node.metadata.name!)) continue;
    for (const a of node.status?.addresses ?? []) {
      if (a.type === "ExternalIP") external.add(a.address);
      else if (a.type === "InternalIP") internal.add(a.address);
    }
  }
  const ips = [...(external.size ? external : internal)];
  const v4 = ips.filter((ip) => isIPv4(ip)).sort();
  const v6 = ips.filter((ip) => !isIPv4(ip) && ip.includes(":")).sort();
  const families = svc.spec?.ipFamilies?.length ? svc.spec.ipFamilies : ["IPv4"];
  return families.flatMap((f) => (f === "IPv4" ? v4 : f === "IPv6" ? v6 : []));
}

/** The addresses a status lists now (IP, or hostname when there is no IP), in its order. */
export const currentIngress = (svc: Service): string[] => (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || "");

/** What goes into status.loadBalancer and what `kubectl get svc` prints from it. */
export const ingressOf = (ips: string[]) => ips.map((ip) => ({ ip }));

/** A Service change that can move other LoadBalancer Services' addresses (through port holding). */
export const lbRelevantServiceState = (svc: Service) =>
  JSON.stringify([wantsLoadBalancer(svc), portsOf(svc), svc.metadata.labels?.[LB_POOL_LABEL]]);

/** A node change that can move a Service's addresses (heartbeats cannot). */
export function lbRelevantNodeState(node: Node): string {
  return JSON.stringify([
    node.metadata.labels?.[ENABLE_LB_LABEL],
    node.metadata.labels?.[LB_POOL_LABEL],
    !!node.metadata.deletionTimestamp,
    isNodeReady(node),
    (node.spec?.taints ?? []).filter(blocksPod).length,
    node.status?.addresses ?? [],
  ]);
}
