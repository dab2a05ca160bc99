// What the cluster DNS knows, kept small: informers hand their objects through the slim*
// transforms below (only the fields DNS answers from survive in the informer caches), and
// ClusterRecords indexes them by name and by IP. Pure: no I/O, so the resolver tests feed it
// objects directly.
import type { Endpoints } from "../../api/resources/core/endpoints";
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

/** Informer transform: Endpoints with ready addresses (ip, hostname) and ports only. */
export function slimEndpoints(ep: Endpoints): Endpoints {
  return {
    metadata: meta(ep),
    subsets: (ep.subsets ?? []).map((ss) => ({
      addresses: ss.addresses?.map((a) => (a.hostname ? { ip: a.ip, hostname: a.hostname } : { ip: a.ip })),
      ports: ss.ports?.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
    })),
  } as Endpoints;
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

/**
 * Endpoints flattened. Subsets group addresses by their port set; DNS answers per address and
 * per port, so one list of each is enough (a port missing on some subset is rare and harmless).
 */
export function endpointsRecord(ep: Endpoints): DnsEndpointsRecord {
  const addresses: DnsEndpointAddress[] = [];
  const ports: DnsPort[] = [];
  const seenPorts = new Set<string>();
  for (const ss of ep.subsets ?? []) {
    for (const a of ss.addresses ?? []) addresses.push(a.hostname ? { ip: a.ip, hostname: a.hostname.toLowerCase() } : { ip: a.ip });
    for (const p of portsOf(ss.ports)) {
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
  private readonly endpoints = new Map<string, Endpoints>();
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
    const ep = this.endpoints.get(`${namespace}/${name}`);
    return ep && endpointsRecord(ep);
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

  upsertEndpoints(ep: Endpoints) {
    this.generation++;
    const ns = ep.metadata.namespace ?? "default";
    const key = `${ns}/${ep.metadata.name}`;
    this.endpoints.set(key, ep);
    this.dropReverse(`ep:${key}`);
    for (const ss of ep.subsets ?? []) {
      for (const a of ss.addresses ?? []) {
        if (a.hostname) this.addReverse(a.ip, `ep:${key}`, `${a.hostname.toLowerCase()}.${ep.metadata.name}.${ns}.svc.${this.domain}`);
      }
    }
  }

  deleteEndpoints(ep: Endpoints) {
    this.generation++;
    const key = `${ep.metadata.namespace ?? "default"}/${ep.metadata.name}`;
    this.endpoints.delete(key);
    this.dropReverse(`ep:${key}`);
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
