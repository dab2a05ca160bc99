// The cluster zone's answers, as a pure function of ClusterRecords and one question. Names
// follow the Kubernetes DNS specification (as CoreDNS's kubernetes plugin answers them):
//
//   <svc>.<ns>.svc.<zone>                A: ClusterIP, or the ready endpoint IPs when headless;
//                                        ExternalName: CNAME
//   <host>.<svc>.<ns>.svc.<zone>         A: the endpoint with that hostname (or dashed IP)
//   _<port>._<proto>.<svc>.<ns>.svc.<zone> SRV for a named port, A records in additional
//   <a-b-c-d>.<ns>.pod.<zone>            A: the IP in the name
//   d.c.b.a.in-addr.arpa                 PTR for Service, endpoint and (verified) pod IPs
//
// Names under the zone that do not exist are NXDOMAIN, names that exist without records of
// the asked type are NOERROR with no answers; both carry the zone's SOA (negative caching).
// Anything else is for the upstream resolvers ("forward").
import type { Answer, Question } from "dns-packet";
import type { ClusterRecords, DnsEndpointsRecord, DnsServiceRecord } from "./records";

export type Rcode = "NOERROR" | "FORMERR" | "SERVFAIL" | "NXDOMAIN" | "NOTIMP" | "REFUSED";
export const RCODE: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

export interface ResolverOptions {
  /** TTL of every cluster record, and the SOA minimum (negative-cache time). CoreDNS: 5 s. */
  ttl: number;
  /** "insecure": any a-b-c-d.<ns>.pod name answers (k3s's default); "verified": only IPs of existing pods in <ns>. */
  pods: "insecure" | "verified";
}

export const DEFAULT_RESOLVER_OPTIONS: ResolverOptions = { ttl: 5, pods: "insecure" };

export interface Answered {
  kind: "answer";
  rcode: Rcode;
  authoritative: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /** An ExternalName target outside the zone: the transport asks the upstreams for it and appends their answers. */
  chase?: string;
}

export type Resolution = Answered | { kind: "forward" };

const FORWARD: Resolution = { kind: "forward" };

/** QTYPE 255 ("ANY"), which dns-packet decodes but its types leave out. */
const isAny = (q: Question) => (q.type as string) === "ANY";

export function resolve(records: ClusterRecords, q: Question, opts: ResolverOptions = DEFAULT_RESOLVER_OPTIONS): Resolution {
  const zone = records.domain;
  const name = q.name.toLowerCase().replace(/\.$/, "");
  if (name === zone || name.endsWith("." + zone)) {
    if (q.class && q.class !== "IN" && q.class !== "ANY") return answer(records, opts, "REFUSED", [], false, []);
    const labels = name === zone ? [] : name.slice(0, -zone.length - 1).split(".");
    return resolveInZone(records, q, labels, opts, 0);
  }
  if (q.type === "PTR" && name.endsWith(".in-addr.arpa")) return reverse(records, q, name, opts);
  return FORWARD;
}

/** A chain of in-zone CNAMEs (ExternalName → ExternalName) stops here. */
const MAX_CNAME_DEPTH = 8;

function resolveInZone(records: ClusterRecords, q: Question, labels: string[], opts: ResolverOptions, depth: number): Answered {
  const owner = q.name;
  const rr = new Records(owner, opts.ttl);
  const kind = labels[labels.length - 1];
  const rest = labels.slice(0, -1);
  const wantsA = q.type === "A" || isAny(q);

  if (labels.length === 0) {
    if (q.type === "SOA") return answer(records, opts, "NOERROR", [soa(records, opts, owner)], true, [], []);
    if (q.type === "NS") return answer(records, opts, "NOERROR", [{ type: "NS", name: owner, ttl: opts.ttl, data: `ns.dns.${records.domain}` }], true, [], []);
    return nodata(records, opts);
  }

  if (kind === "svc") {
    if (rest.length === 0) return nodata(records, opts);
    if (rest.length === 1) return records.hasNamespace(rest[0]!) ? nodata(records, opts) : nxdomain(records, opts);
    if (rest.length === 2) {
      const svc = records.service(rest[1]!, rest[0]!);
      if (!svc) return nxdomain(records, opts);
      if (svc.externalName) return externalName(records, q, svc.externalName, opts, depth);
      const eps = records.endpointsOf(svc.namespace, svc.name);
      if (svc.headless) {
        const addrs = eps?.addresses ?? [];
        if (!addrs.length) return nxdomain(records, opts);
        if (wantsA) for (const a of addrs) rr.a(owner, a.ip);
        if (q.type === "SRV") srvForEndpoints(rr, svc, eps!, eps!.ports, records.domain);
        return rr.done(records, opts);
      }
      if (wantsA && svc.clusterIP) rr.a(owner, svc.clusterIP);
      if (q.type === "SRV" && svc.clusterIP) srvForClusterIP(rr, svc, svc.ports, records.domain);
      return rr.done(records, opts);
    }
    if (rest.length === 3) {
      const [host, svcName, ns] = rest as [string, string, string];
      const svc = records.service(ns, svcName);
      const eps = svc && records.endpointsOf(ns, svcName);
      const matches = (eps?.addresses ?? []).filter((a) => (a.hostname ?? dashed(a.ip)) === host || dashed(a.ip) === host);
      if (!matches.length) return nxdomain(records, opts);
      if (wantsA) for (const a of matches) rr.a(owner, a.ip);
      return rr.done(records, opts);
    }
    if (rest.length === 4) {
      const [port, proto, svcName, ns] = rest as [string, string, string, string];
      if (!port.startsWith("_") || !proto.startsWith("_") || port.length < 2) return nxdomain(records, opts);
      const svc = records.service(ns, svcName);
      if (!svc || svc.externalName) return nxdomain(records, opts);
      const wanted = (p: { name: string; protocol: string }) => p.name === port.slice(1) && p.protocol === proto.slice(1);
      if (svc.headless) {
        const eps = records.endpointsOf(ns, svcName);
        const ports = (eps?.ports ?? []).filter(wanted);
        if (!ports.length || !eps!.addresses.length) return nxdomain(records, opts);
        if (q.type === "SRV" || isAny(q)) srvForEndpoints(rr, svc, eps!, ports, records.domain);
      } else {
        const ports = svc.ports.filter(wanted);
        if (!ports.length || !svc.clusterIP) return nxdomain(records, opts);
        if (q.type === "SRV" || isAny(q)) srvForClusterIP(rr, svc, ports, records.domain);
      }
      return rr.done(records, opts);
    }
    return nxdomain(records, opts);
  }

  if (kind === "pod") {
    if (rest.length === 0) return nodata(records, opts);
    if (rest.length === 1) return nodata(records, opts);
    if (rest.length !== 2) return nxdomain(records, opts);
    const ip = undashed(rest[0]!);
    if (!ip || (opts.pods === "verified" && !records.hasPod(rest[1]!, ip))) return nxdomain(records, opts);
    if (wantsA) rr.a(owner, ip);
    return rr.done(records, opts);
  }

  return nxdomain(records, opts);
}

function externalName(records: ClusterRecords, q: Question, target: string, opts: ResolverOptions, depth: number): Answered {
  const cname: Answer = { type: "CNAME", name: q.name, ttl: opts.ttl, data: target };
  if (q.type === "CNAME") return answer(records, opts, "NOERROR", [cname], true, [], []);
  const zone = records.domain;
  if ((target === zone || target.endsWith("." + zone)) && depth < MAX_CNAME_DEPTH) {
    const labels = target === zone ? [] : target.slice(0, -zone.length - 1).split(".");
    const inner = resolveInZone(records, { ...q, name: target }, labels, opts, depth + 1);
    // The CNAME stands even when its target has nothing: the rcode is the target's (RFC 6604).
    return { ...inner, answers: [cname, ...inner.answers] };
  }
  return { ...answer(records, opts, "NOERROR", [cname], true, [], []), chase: target };
}

function reverse(records: ClusterRecords, q: Question, name: string, opts: ResolverOptions): Resolution {
  const parts = name.slice(0, -".in-addr.arpa".length).split(".");
  if (parts.length !== 4) return FORWARD;
  const ip = parts.reverse().join(".");
  const names = records.namesOf(ip);
  if (!names.length) return FORWARD;
  return answer(records, opts, "NOERROR", names.map((n) => ({ type: "PTR", name: q.name, ttl: opts.ttl, data: n })), true, [], []);
}

function srvForClusterIP(rr: Records, svc: DnsServiceRecord, ports: DnsServiceRecord["ports"], zone: string) {
  const target = `${svc.name}.${svc.namespace}.svc.${zone}`;
  for (const p of ports) rr.srv(p.port, 100, target);
  if (ports.length) rr.additionalA(target, svc.clusterIP!);
}

function srvForEndpoints(rr: Records, svc: DnsServiceRecord, eps: DnsEndpointsRecord, ports: DnsEndpointsRecord["ports"], zone: string) {
  const weight = Math.max(1, Math.floor(100 / Math.max(1, eps.addresses.length)));
  for (const a of eps.addresses) {
    const target = `${a.hostname ?? dashed(a.ip)}.${svc.name}.${svc.namespace}.svc.${zone}`;
    for (const p of ports) rr.srv(p.port, weight, target);
    if (ports.length) rr.additionalA(target, a.ip);
  }
}

const dashed = (ip: string) => ip.replaceAll(".", "-");

/** "10-42-0-5" → "10.42.0.5"; undefined when it is not a dashed IPv4 address. */
function undashed(label: string): string | undefined {
  const parts = label.split("-");
  if (parts.length !== 4) return undefined;
  for (const p of parts) if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
  return parts.join(".");
}

/** Collects one answer's records; an existing name without records of the asked type is NODATA. */
class Records {
  readonly answers: Answer[] = [];
  readonly additionals: Answer[] = [];
  constructor(
    private readonly owner: string,
    private readonly ttl: number,
  ) {}
  a(name: string, ip: string) {
    this.answers.push({ type: "A", name, ttl: this.ttl, data: ip });
  }
  srv(port: number, weight: number, target: string) {
    this.answers.push({ type: "SRV", name: this.owner, ttl: this.ttl, data: { priority: 0, weight, port, target } });
  }
  additionalA(name: string, ip: string) {
    this.additionals.push({ type: "A", name, ttl: this.ttl, data: ip });
  }
  done(records: ClusterRecords, opts: ResolverOptions): Answered {
    return this.answers.length ? answer(records, opts, "NOERROR", this.answers, true, [], this.additionals) : nodata(records, opts);
  }
}

function soa(records: ClusterRecords, opts: ResolverOptions, name = records.domain): Answer {
  const zone = records.domain;
  return {
    type: "SOA",
    name,
    ttl: opts.ttl,
    data: { mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: opts.ttl },
  };
}

function answer(records: ClusterRecords, opts: ResolverOptions, rcode: Rcode, answers: Answer[], authoritative: boolean, authorities?: Answer[], additionals: Answer[] = []): Answered {
  return { kind: "answer", rcode, authoritative, answers, authorities: authorities ?? (answers.length ? [] : [soa(records, opts)]), additionals };
}

const nxdomain = (records: ClusterRecords, opts: ResolverOptions) => answer(records, opts, "NXDOMAIN", [], true);
const nodata = (records: ClusterRecords, opts: ResolverOptions) => answer(records, opts, "NOERROR", [], true);
