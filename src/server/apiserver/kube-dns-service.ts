// The `kube-dns` Service in kube-system, as upstream and k3s clusters have it: ClusterIP = the
// cluster DNS address (--cluster-dns), ports dns 53/UDP, dns-tcp 53/TCP, metrics 9153/TCP, the
// usual k8s-app=kube-dns labels. bramble's DNS is not a Deployment behind this Service: every
// agent answers on the cluster DNS address itself, on a local interface, and the Service proxy
// writes no rules for it (they would take queries away from the node's own resolver). The
// Service is there for what tools and people look up: `kubectl get svc -n kube-system kube-dns`,
// manifests that read its clusterIP, upstream's DNS debugging steps.
//
// It has no selector (no pods to select); its Endpoints and EndpointSlice are written here and
// list the nodes that serve the DNS: each node's InternalIP, ready when the Node is Ready. They are
// a record of which nodes answer, not a path: each node answers on the cluster DNS address only.
// Kept like the `kubernetes` Service (re-made when deleted); none with --disable coredns.
import type { KubeObject } from "../../api/meta";
import { LABEL_MANAGED_BY, LABEL_SERVICE_NAME, LABEL_SKIP_MIRROR } from "../../api/resources/discovery/labels";
import type { ResourceDef } from "../../api/resource";
import type { ServerConfig } from "../config";
import type { Objects } from "./objects/objects";

type Find = (group: string, plural: string) => ResourceDef;

export const KUBE_DNS_SERVICE = { namespace: "kube-system", name: "kube-dns" };
export const KUBE_DNS_LABELS = { "k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS" };
/** managed-by of the kube-dns EndpointSlice. */
export const KUBE_DNS_MANAGED_BY = "bramble-cluster-dns";

const SERVICE_PORTS = [
  { name: "dns", port: 53, protocol: "UDP", targetPort: 53 },
  { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: 53 },
  { name: "metrics", port: 9153, protocol: "TCP", targetPort: 9153 },
];
const ENDPOINT_PORTS = SERVICE_PORTS.map(({ name, port, protocol }) => ({ name, port, protocol }));

interface NodeServer {
  node: string;
  ip: string;
  ready: boolean;
}

/** Every Node with an IPv4 InternalIP, by name, and whether it is Ready. */
export function dnsServers(nodes: KubeObject[]): NodeServer[] {
  const out: NodeServer[] = [];
  for (const n of nodes) {
    if (n.metadata.deletionTimestamp) continue;
    const status = n.status as { addresses?: { type: string; address: string }[]; conditions?: { type: string; status: string }[] } | undefined;
    const ip = status?.addresses?.find((a) => a.type === "InternalIP" && /^\d+\.\d+\.\d+\.\d+$/.test(a.address))?.address;
    if (!ip || ip.startsWith("127.")) continue;
    const ready = status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
    out.push({ node: n.metadata.name!, ip, ready });
  }
  return out.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Runs in progress per store view: the periodic check and node changes take turns, never racing each other's writes. */
const inFlight = new WeakMap<Objects, Promise<void>>();

/** Makes the Service, its Endpoints and EndpointSlice what they should be; writes only what differs. */
export function ensureKubeDnsService(objects: Objects, config: ServerConfig, find: Find): Promise<void> {
  if (!config.clusterDnsServer) return Promise.resolve();
  const next = (inFlight.get(objects) ?? Promise.resolve()).catch(() => {}).then(() => ensureOnce(objects, config, find));
  inFlight.set(objects, next);
  return next;
}

async function ensureOnce(objects: Objects, config: ServerConfig, find: Find) {
  const { namespace, name } = KUBE_DNS_SERVICE;
  const services = find("", "services");
  const existing = objects.tryGet(services, namespace, name);
  if (!existing) {
    // A Service made before the address was reserved may hold it: then there is no kube-dns.
    if (objects.list(services).items.some((s) => (s.spec as { clusterIP?: string } | undefined)?.clusterIP === config.clusterDns)) return;
    await objects.create(services, namespace, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, labels: { ...KUBE_DNS_LABELS }, annotations: { "prometheus.io/port": "9153", "prometheus.io/scrape": "true" } },
      spec: { type: "ClusterIP", clusterIP: config.clusterDns, ports: SERVICE_PORTS, sessionAffinity: "None" },
    });
  } else {
    const spec = (existing.spec ?? {}) as { clusterIP?: string; selector?: Record<string, string> };
    // Being deleted, or someone's own kube-dns (at another address, or selecting pods whose
    // endpoints the controllers write): left alone, and made again once gone.
    if (existing.metadata.deletionTimestamp || spec.clusterIP !== config.clusterDns || Object.keys(spec.selector ?? {}).length) return;
  }

  const servers = dnsServers(objects.list(find("", "nodes")).items);
  const ready = servers.filter((s) => s.ready);
  const notReady = servers.filter((s) => !s.ready);
  const address = (s: NodeServer) => ({ ip: s.ip, nodeName: s.node });
  const subset: Record<string, unknown> = {};
  if (ready.length) subset.addresses = ready.map(address);
  if (notReady.length) subset.notReadyAddresses = notReady.map(address);
  const subsets = servers.length ? [{ ...subset, ports: ENDPOINT_PORTS }] : [];
  const epLabels = { ...KUBE_DNS_LABELS, [LABEL_SKIP_MIRROR]: "true" };
  const endpoints = find("", "endpoints");
  const current = objects.tryGet(endpoints, namespace, name);
  if (!current) await objects.create(endpoints, namespace, { apiVersion: "v1", kind: "Endpoints", metadata: { name, labels: epLabels }, subsets });
  else if (!current.metadata.deletionTimestamp && !same(current.subsets ?? [], subsets))
    await objects.update(endpoints, namespace, name, { ...current, subsets });

  // The slice carries the Service's labels (so `-l k8s-app=kube-dns` finds it, as upstream's
  // controller copies them) and says it is written here, not by the EndpointSlice controllers.
  const slices = find("discovery.k8s.io", "endpointslices");
  const sliceLabels = { ...KUBE_DNS_LABELS, [LABEL_SERVICE_NAME]: name, [LABEL_MANAGED_BY]: KUBE_DNS_MANAGED_BY };
  const body = {
    addressType: "IPv4",
    endpoints: servers.map((s) => ({ addresses: [s.ip], conditions: { ready: s.ready, serving: s.ready, terminating: false }, nodeName: s.node })),
    ports: ENDPOINT_PORTS,
  };
  const currentSlice = objects.tryGet(slices, namespace, name);
  if (!currentSlice) await objects.create(slices, namespace, { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name, labels: sliceLabels }, ...body });
  else if (
    !currentSlice.metadata.deletionTimestamp &&
    currentSlice.addressType === "IPv4" &&
    !same([currentSlice.endpoints ?? [], currentSlice.ports, currentSlice.metadata.labels], [body.endpoints, body.ports, sliceLabels])
  )
    await objects.update(slices, namespace, name, { ...currentSlice, metadata: { ...currentSlice.metadata, labels: sliceLabels }, ...body });
}

/** What of a Node the endpoints show: its address and readiness ("" for none). */
function serverSignature(json: string | undefined): string {
  if (!json) return "";
  try {
    const s = dnsServers([JSON.parse(json) as KubeObject])[0];
    return s ? `${s.ip}/${s.ready}` : "";
  } catch {
    return "";
  }
}

/**
 * Rewrites the kube-dns endpoints soon after a Node joins, leaves, changes address or readiness
 * (the periodic check catches anything else). Heartbeats change none of these and cost a parse.
 */
export function followNodesForKubeDns(
  cache: { revision: number; watch(prefix: string, from: number, onEvent: (e: { key: string; value: string; prevValue?: string; type: string }) => void): { stop(): void } },
  objects: Objects,
  config: ServerConfig,
  find: Find,
  log: { warn(msg: string, fields?: Record<string, unknown>): void },
  delayMs = 200,
) {
  if (!config.clusterDnsServer) return { stop() {} };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  const run = () => {
    timer = undefined;
    if (running) return void (timer = setTimeout(run, delayMs));
    running = true;
    ensureKubeDnsService(objects, config, find)
      .catch((e) => log.warn("cannot update the kube-dns endpoints; retrying", { error: String(e) }))
      .finally(() => (running = false));
  };
  const w = cache.watch(`/registry/core/nodes/`, cache.revision, (e) => {
    const before = e.type === "ADDED" ? "" : serverSignature(e.prevValue);
    const after = e.type === "DELETED" ? "" : serverSignature(e.value);
    if (before !== after && !timer) timer = setTimeout(run, delayMs);
  });
  return {
    stop() {
      w.stop();
      if (timer) clearTimeout(timer);
    },
  };
}
