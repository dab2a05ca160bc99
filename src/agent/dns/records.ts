// What the cluster DNS knows, kept small: informers hand their objects through the slim*
// transforms below and the agent's shared slice watch (service-slices.ts) through its own, so
// only the fields DNS answers from survive in the caches; and
// ClusterRecords indexes them by name and by IP. Pure: no I/O, so the resolver tests feed it
// objects directly.
import type { EndpointSlice } from "../../api/resources/discovery/endpointslice";
import { serviceKeyOfSlice } from "../../api/resources/discovery/labels";
import type { Pod } from "../../api/resources/core/pod";
import type { Service } from "../../api/resources/core/service";

export interface DnsPort {
  name: string;
  port: number;
  /** Lower case: "tcp", "udp", "sctp". */
  protocol: string;
}

export interface DnsServiceRecord {
  name: string;
  namespace: string;
  /** The ClusterIP; undefined when headless ("None"), ExternalName, or not allocated yet. */
  clusterIP?: string;
  headless: boolean;
  /** Lower case, without a trailing dot. */
  externalName?: string;
  ports: DnsPort[];
}

export interface DnsEndpointAddress {
  ip: string;
  hostname?: string;
}

export interface DnsEndpointsRecord {
  /** Ready addresses only: DNS never hands out an endpoint that is not ready. */
  addresses: DnsEndpointAddress[];
  ports: DnsPort[];
}

const meta = (o: { metadata: { name?: string; namespace?: string; resourceVersion?: string } }) => ({
  name: o.metadata.name,
  namespace: o.metadata.namespace,
  resourceVersion: o.metadata.resourceVersion,
});

/** Informer transform: a Service reduced to what DNS answers from. */
export function slimService(svc: Service): Service {
  const s = svc.spec ?? {};
  return {
    metadata: meta(svc),
    spec: {
      type: s.type,
      clusterIP: s.clusterIP,
      externalName: s.externalName,
      ports: s.ports?.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
    },
  } as Service;
}

/** Informer transform: a Pod reduced to its IP (for verified pod records and pod PTRs). */
export function slimPod(pod: Pod): Pod {
  return { metadata: meta(pod), status: { podIP: pod.status?.podIP } } as Pod;
}

const portsOf = (ports: { name?: string; port: number; protocol?: string }[] | undefined): DnsPort[] =>
  (ports ?? []).map((p) => ({ name: (p.name ?? "").toLowerCase(), port: p.port, protocol: (p.protocol ?? "TCP").toLowerCase() }));

export function serviceRecord(svc: Service): DnsServiceRecord {
  const s = svc.spec ?? {};
  const external = s.type === "ExternalName" && s.externalName ? s.externalName.toLowerCase().replace(/\.$/, "") : undefined;
  const headless = s.clusterIP === "None";
  return {
    name: svc.metadata.name!,
    namespace: svc.metadata.namespace ?? "default",
    clusterIP: external || headless || !s.clusterIP ? undefined : s.clusterIP,
    headless,
    externalName: external,
    ports: portsOf(s.ports),
  };
}

/** Ready unless a slice says otherwise: an unset condition means ready (as CoreDNS reads it). */
const isReady = (e: NonNullable<EndpointSlice["endpoints"]>[number]) => e.conditions?.ready ?? true;

/**
 * A Service's slices flattened: the first address of every ready endpoint (terminating ones are
 * never ready), and the union of the slices' ports. DNS answers per address and per port, so one
 * list of each is enough (a port missing on some slice is rare and harmless).
 */
export function endpointsRecord(slices: Iterable<EndpointSlice>): DnsEndpointsRecord {
  const addresses: DnsEndpointAddress[] = [];
  const ports: DnsPort[] = [];
  const seenPorts = new Set<string>();
  const seenIps = new Set<string>();
  for (const s of slices) {
    if (s.addressType !== "IPv4" && s.addressType !== "IPv6") continue;
    for (const e of s.endpoints ?? []) {
      const ip = e.addresses?.[0];
      if (!ip || !isReady(e) || seenIps.has(ip)) continue;
      seenIps.add(ip);
      addresses.push(e.hostname ? { ip, hostname: e.hostname.toLowerCase() } : { ip });
    }
    for (const p of portsOf(s.ports?.filter((p) => p.port !== undefined) as { name?: string; port: number; protocol?: string }[])) {
      const key = `${p.name}/${p.protocol}/${p.port}`;
      if (!seenPorts.has(key)) (seenPorts.add(key), ports.push(p));
    }
  }
  return { addresses, ports };
}

/**
 * Name → owner → record, with a reverse index from IP to the names that point at it. It holds
 * the same slim objects the informers cache (no second copy) and derives the DNS view of one
 * on lookup; the answer cache spares repeated lookups that work.
 */
export class ClusterRecords {
  private readonly services = new Map<string, Service>();
  /** service key → slice name → slice. */
  private readonly slices = new Map<string, Map<string, EndpointSlice>>();
  /** podIP → namespaces holding a pod with that IP → count (pods verified mode). */
  private readonly podIPs = new Map<string, Map<string, number>>();
  private readonly podIPOf = new Map<string, string>();
  private readonly servicesPerNamespace = new Map<string, number>();
  /** ip → (owner key → fully qualified name without the trailing dot). */
  private readonly reverse = new Map<string, Map<string, string>>();

  /** Bumped on every change, so cached answers know when they are stale. */
  generation = 0;

  constructor(readonly domain: string) {}

  service(namespace: string, name: string): DnsServiceRecord | undefined {
    const svc = this.services.get(`${namespace}/${name}`);
    return svc && serviceRecord(svc);
  }

  endpointsOf(namespace: string, name: string): DnsEndpointsRecord | undefined {
    const m = this.slices.get(`${namespace}/${name}`);
    return m && endpointsRecord(m.values());
  }

  hasNamespace(namespace: string): boolean {
    return (this.servicesPerNamespace.get(namespace) ?? 0) > 0;
  }

  hasPod(namespace: string, ip: string): boolean {
    return (this.podIPs.get(ip)?.get(namespace) ?? 0) > 0;
  }

  /** The names an IP belongs to, for PTR answers. */
  namesOf(ip: string): string[] {
    const m = this.reverse.get(ip);
    return m ? [...new Set(m.values())] : [];
  }

  upsertService(svc: Service) {
    this.generation++;
    const rec = serviceRecord(svc);
    const key = `${rec.namespace}/${rec.name}`;
    if (!this.services.has(key)) this.servicesPerNamespace.set(rec.namespace, (this.servicesPerNamespace.get(rec.namespace) ?? 0) + 1);
    this.services.set(key, svc);
    this.dropReverse(`svc:${key}`);
    if (rec.clusterIP) this.addReverse(rec.clusterIP, `svc:${key}`, `${rec.name}.${rec.namespace}.svc.${this.domain}`);
  }

  deleteService(svc: Service) {
    this.generation++;
    const namespace = svc.metadata.namespace ?? "default";
    const key = `${namespace}/${svc.metadata.name}`;
    if (!this.services.has(key)) return;
    this.services.delete(key);
    const n = (this.servicesPerNamespace.get(namespace) ?? 1) - 1;
    if (n > 0) this.servicesPerNamespace.set(namespace, n);
    else this.servicesPerNamespace.delete(namespace);
    this.dropReverse(`svc:${key}`);
  }

  upsertSlice(slice: EndpointSlice) {
    this.generation++;
    const svc = serviceKeyOfSlice(slice);
    const owner = `eps:${slice.metadata.namespace ?? "default"}/${slice.metadata.name}`;
    this.dropReverse(owner);
    if (!svc) return;
    let m = this.slices.get(svc);
    if (!m) this.slices.set(svc, (m = new Map()));
    m.set(slice.metadata.name!, slice);
    const [ns, name] = svc.split("/");
    for (const e of slice.endpoints ?? []) {
      const ip = e.addresses?.[0];
      if (ip && e.hostname && isReady(e)) this.addReverse(ip, owner, `${e.hostname.toLowerCase()}.${name}.${ns}.svc.${this.domain}`);
    }
  }

  deleteSlice(slice: EndpointSlice) {
    this.generation++;
    const svc = serviceKeyOfSlice(slice);
    this.dropReverse(`eps:${slice.metadata.namespace ?? "default"}/${slice.metadata.name}`);
    const m = svc ? this.slices.get(svc) : undefined;
    if (!m) return;
    m.delete(slice.metadata.name!);
    if (m.size === 0) this.slices.delete(svc!);
  }

  upsertPod(pod: Pod) {
    this.generation++;
    const ns = pod.metadata.namespace ?? "default";
    const key = `${ns}/${pod.metadata.name}`;
    const ip = pod.status?.podIP;
    if (this.podIPOf.get(key) === ip) return;
    this.deletePod(pod);
    if (!ip) return;
    this.podIPOf.set(key, ip);
    let byNs = this.podIPs.get(ip);
    if (!byNs) this.podIPs.set(ip, (byNs = new Map()));
    byNs.set(ns, (byNs.get(ns) ?? 0) + 1);
    this.addReverse(ip, `pod:${key}`, `${ip.replaceAll(".", "-")}.${ns}.pod.${this.domain}`);
  }

  deletePod(pod: Pod) {
    this.generation++;
    const ns = pod.metadata.namespace ?? "default";
    const key = `${ns}/${pod.metadata.name}`;
    const ip = this.podIPOf.get(key);
    if (ip === undefined) return;
    this.podIPOf.delete(key);
    const byNs = this.podIPs.get(ip);
    const n = (byNs?.get(ns) ?? 1) - 1;
    if (n > 0) byNs!.set(ns, n);
    else byNs?.delete(ns);
    if (byNs && byNs.size === 0) this.podIPs.delete(ip);
    this.dropReverse(`pod:${key}`);
  }

  private addReverse(ip: string, owner: string, name: string) {
    let m = this.reverse.get(ip);
    if (!m) this.reverse.set(ip, (m = new Map()));
    m.set(owner, name);
    (this.reverseOwners.get(owner) ?? this.reverseOwners.set(owner, new Set()).get(owner)!).add(ip);
  }

  /** owner → IPs it registered, so an update can drop exactly its old reverse entries. */
  private readonly reverseOwners = new Map<string, Set<string>>();

  private dropReverse(owner: string) {
    const ips = this.reverseOwners.get(owner);
    if (!ips) return;
    for (const ip of ips) {
      const m = this.reverse.get(ip);
      m?.delete(owner);
      if (m && m.size === 0) this.reverse.delete(ip);
    }
    this.reverseOwners.delete(owner);
  }
}
