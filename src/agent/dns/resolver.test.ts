import { describe, expect, test } from "bun:test";
import type { Answer, Question, RecordType } from "dns-packet";
import type { EndpointSlice } from "../../api/resources/discovery/endpointslice";
import type { Pod } from "../../api/resources/core/pod";
import type { Service } from "../../api/resources/core/service";
import { slimSlice } from "../service-slices";
import { ClusterRecords, slimPod, slimService } from "./records";
import { resolve, type Answered, type ResolverOptions } from "./resolver";

const svc = (ns: string, name: string, spec: Service["spec"]): Service => ({ metadata: { namespace: ns, name, resourceVersion: "1" }, spec }) as Service;
/** An EndpointSlice of Service `svc` (named "<svc>-<suffix>"). */
const slice = (ns: string, svc: string, endpoints: EndpointSlice["endpoints"], ports: EndpointSlice["ports"], suffix = "a"): EndpointSlice =>
  ({ metadata: { namespace: ns, name: `${svc}-${suffix}`, resourceVersion: "1", labels: { "kubernetes.io/service-name": svc } }, addressType: "IPv4", endpoints, ports }) as EndpointSlice;
const ready = (ip: string, hostname?: string) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, ...(hostname && { hostname }) });
const notReady = (ip: string, hostname?: string) => ({ addresses: [ip], conditions: { ready: false, serving: false, terminating: false }, ...(hostname && { hostname }) });
/** A pod being deleted that still passes its readiness probe: the proxy may fall back to it, DNS never names it. */
const terminating = (ip: string, hostname?: string) => ({ addresses: [ip], conditions: { ready: false, serving: true, terminating: true }, ...(hostname && { hostname }) });
const pod = (ns: string, name: string, podIP?: string): Pod => ({ metadata: { namespace: ns, name, resourceVersion: "1" }, status: { podIP } }) as Pod;

function cluster(): ClusterRecords {
  const r = new ClusterRecords("cluster.local");
  r.upsertService(svc("default", "web", { type: "ClusterIP", clusterIP: "10.43.0.20", ports: [{ name: "http", port: 80, protocol: "TCP" }, { name: "dns", port: 53, protocol: "UDP" }] }));
  r.upsertSlice(slice("default", "web", [ready("10.42.0.5"), ready("10.42.1.6"), notReady("10.42.0.9"), terminating("10.42.0.10")], [{ name: "http", port: 8080, protocol: "TCP" }]));
  r.upsertService(svc("db", "pg", { clusterIP: "None", ports: [{ name: "postgres", port: 5432, protocol: "TCP" }] }));
  // Two slices of one Service: answers merge them.
  r.upsertSlice(slice("db", "pg", [ready("10.42.0.7", "pg-0")], [{ name: "postgres", port: 5432, protocol: "TCP" }], "a"));
  r.upsertSlice(slice("db", "pg", [ready("10.42.1.8"), notReady("10.42.2.9", "pg-2"), terminating("10.42.2.10", "pg-3")], [{ name: "postgres", port: 5432, protocol: "TCP" }], "b"));
  r.upsertService(svc("db", "empty", { clusterIP: "None", ports: [{ name: "x", port: 1, protocol: "TCP" }] }));
  r.upsertService(svc("default", "ext", { type: "ExternalName", externalName: "Example.COM." }));
  r.upsertService(svc("default", "alias", { type: "ExternalName", externalName: "web.default.svc.cluster.local" }));
  r.upsertService(svc("default", "pending", { type: "ClusterIP" }));
  return r;
}

const ask = (r: ClusterRecords, name: string, type: RecordType = "A", opts?: Partial<ResolverOptions>) => {
  const res = resolve(r, { name, type, class: "IN" } as Question, { ttl: 5, pods: "insecure", ...opts });
  return res;
};
const answered = (r: ClusterRecords, name: string, type: RecordType = "A", opts?: Partial<ResolverOptions>): Answered => {
  const res = ask(r, name, type, opts);
  if (res.kind !== "answer") throw new Error(`${name} was forwarded`);
  return res;
};
const data = (as: Answer[]) => as.map((a) => ("data" in a ? a.data : undefined));

describe("services", () => {
  const r = cluster();

  test("a ClusterIP service answers its ClusterIP, authoritatively, with the name as asked", () => {
    const res = answered(r, "Web.Default.svc.cluster.local");
    expect(res.rcode).toBe("NOERROR");
    expect(res.authoritative).toBe(true);
    expect(res.answers).toEqual([{ type: "A", name: "Web.Default.svc.cluster.local", ttl: 5, data: "10.43.0.20" }]);
    expect(res.authorities).toEqual([]);
  });

  test("a trailing dot is the same name", () => {
    expect(data(answered(r, "web.default.svc.cluster.local.").answers)).toEqual(["10.43.0.20"]);
  });

  test("a headless service answers its ready endpoint IPs only", () => {
    expect(data(answered(r, "pg.db.svc.cluster.local").answers).sort()).toEqual(["10.42.0.7", "10.42.1.8"]);
  });

  test("a Service's endpoints are the merge of its slices; a slice deleted takes its endpoints along", () => {
    const r2 = cluster();
    r2.deleteSlice(slice("db", "pg", [], [], "b"));
    expect(data(answered(r2, "pg.db.svc.cluster.local").answers)).toEqual(["10.42.0.7"]);
    expect(answered(r2, "10-42-1-8.pg.db.svc.cluster.local").rcode).toBe("NXDOMAIN");
    r2.deleteSlice(slice("db", "pg", [], [], "a"));
    expect(answered(r2, "pg.db.svc.cluster.local").rcode).toBe("NXDOMAIN");
    expect(r2.namesOf("10.42.0.7")).toEqual([]);
  });

  test("a headless service without ready endpoints is NXDOMAIN (as CoreDNS)", () => {
    const res = answered(r, "empty.db.svc.cluster.local");
    expect(res.rcode).toBe("NXDOMAIN");
    expect(res.authorities[0]!.type).toBe("SOA");
  });

  test("endpoint hostnames and dashed IPs name single endpoints", () => {
    expect(data(answered(r, "pg-0.pg.db.svc.cluster.local").answers)).toEqual(["10.42.0.7"]);
    expect(data(answered(r, "10-42-1-8.pg.db.svc.cluster.local").answers)).toEqual(["10.42.1.8"]);
    expect(answered(r, "pg-2.pg.db.svc.cluster.local").rcode).toBe("NXDOMAIN"); // not ready
    expect(answered(r, "pg-3.pg.db.svc.cluster.local").rcode).toBe("NXDOMAIN"); // terminating
    expect(answered(r, "pg-9.pg.db.svc.cluster.local").rcode).toBe("NXDOMAIN");
  });

  test("ExternalName answers a CNAME and asks the transport to chase an outside target", () => {
    const res = answered(r, "ext.default.svc.cluster.local");
    expect(res.answers).toEqual([{ type: "CNAME", name: "ext.default.svc.cluster.local", ttl: 5, data: "example.com" }]);
    expect(res.chase).toBe("example.com");
  });

  test("ExternalName pointing into the zone is followed locally", () => {
    const res = answered(r, "alias.default.svc.cluster.local");
    expect(res.chase).toBeUndefined();
    expect(res.answers.map((a) => a.type)).toEqual(["CNAME", "A"]);
    expect(data(res.answers)).toEqual(["web.default.svc.cluster.local", "10.43.0.20"]);
  });

  test("a service without an allocated ClusterIP yet exists but has no A record", () => {
    const res = answered(r, "pending.default.svc.cluster.local");
    expect(res.rcode).toBe("NOERROR");
    expect(res.answers).toEqual([]);
    expect(res.authorities[0]!.type).toBe("SOA");
  });

  test("AAAA for an existing name is NOERROR with no answers and the SOA", () => {
    const res = answered(r, "web.default.svc.cluster.local", "AAAA");
    expect(res.rcode).toBe("NOERROR");
    expect(res.answers).toEqual([]);
    expect(res.authorities).toHaveLength(1);
    expect(res.authorities[0]).toMatchObject({ type: "SOA", name: "cluster.local", data: { mname: "ns.dns.cluster.local", minimum: 5 } });
  });

  test("a missing service, namespace or shape is NXDOMAIN with the SOA", () => {
    for (const name of ["nope.default.svc.cluster.local", "web.other.svc.cluster.local", "a.b.c.d.e.svc.cluster.local", "web.default.cluster.local", "x.cluster.local"]) {
      const res = answered(r, name);
      expect([name, res.rcode]).toEqual([name, "NXDOMAIN"]);
      expect(res.authoritative).toBe(true);
      expect(res.authorities[0]!.type).toBe("SOA");
    }
  });

  test("search-path misses (ndots:5 expansion) are answered NXDOMAIN at once, not forwarded", () => {
    for (const name of [
      "web.default.svc.cluster.local.default.svc.cluster.local",
      "web.default.svc.cluster.local.svc.cluster.local",
      "web.default.svc.cluster.local.cluster.local",
      "example.com.default.svc.cluster.local",
      "example.com.svc.cluster.local",
      "example.com.cluster.local",
    ]) {
      expect([name, answered(r, name).rcode]).toEqual([name, "NXDOMAIN"]);
    }
  });

  test("zone apex, svc and namespace names exist (NODATA), an unknown namespace does not", () => {
    expect(answered(r, "cluster.local").rcode).toBe("NOERROR");
    expect(answered(r, "svc.cluster.local").rcode).toBe("NOERROR");
    expect(answered(r, "db.svc.cluster.local").rcode).toBe("NOERROR");
    expect(answered(r, "nowhere.svc.cluster.local").rcode).toBe("NXDOMAIN");
  });

  test("SOA and NS at the apex", () => {
    expect(answered(r, "cluster.local", "SOA").answers[0]!.type).toBe("SOA");
    expect(data(answered(r, "cluster.local", "NS").answers)).toEqual(["ns.dns.cluster.local"]);
  });

  test("another class in the zone is refused", () => {
    const res = resolve(r, { name: "web.default.svc.cluster.local", type: "A", class: "CH" } as Question);
    expect(res).toMatchObject({ kind: "answer", rcode: "REFUSED", answers: [] });
  });
});

describe("SRV", () => {
  const r = cluster();

  test("a named port of a ClusterIP service points at the service name, with its A in additional", () => {
    const res = answered(r, "_http._tcp.web.default.svc.cluster.local", "SRV");
    expect(res.answers).toEqual([
      { type: "SRV", name: "_http._tcp.web.default.svc.cluster.local", ttl: 5, data: { priority: 0, weight: 100, port: 80, target: "web.default.svc.cluster.local" } },
    ]);
    expect(res.additionals).toEqual([{ type: "A", name: "web.default.svc.cluster.local", ttl: 5, data: "10.43.0.20" }]);
  });

  test("protocol and port name must both match (case-insensitive)", () => {
    expect(data(answered(r, "_DNS._UDP.web.default.svc.cluster.local", "SRV").answers)).toEqual([{ priority: 0, weight: 100, port: 53, target: "web.default.svc.cluster.local" }]);
    expect(answered(r, "_dns._tcp.web.default.svc.cluster.local", "SRV").rcode).toBe("NXDOMAIN");
    expect(answered(r, "_nope._tcp.web.default.svc.cluster.local", "SRV").rcode).toBe("NXDOMAIN");
    expect(answered(r, "http.tcp.web.default.svc.cluster.local", "SRV").rcode).toBe("NXDOMAIN");
  });

  test("a headless service has one SRV per ready endpoint, with endpoint names and ports", () => {
    const res = answered(r, "_postgres._tcp.pg.db.svc.cluster.local", "SRV");
    expect(data(res.answers)).toEqual([
      { priority: 0, weight: 50, port: 5432, target: "pg-0.pg.db.svc.cluster.local" },
      { priority: 0, weight: 50, port: 5432, target: "10-42-1-8.pg.db.svc.cluster.local" },
    ]);
    expect(res.additionals.map((a) => [a.name, "data" in a && a.data])).toEqual([
      ["pg-0.pg.db.svc.cluster.local", "10.42.0.7"],
      ["10-42-1-8.pg.db.svc.cluster.local", "10.42.1.8"],
    ]);
  });

  test("SRV on the service name lists every port", () => {
    const res = answered(r, "web.default.svc.cluster.local", "SRV");
    expect(data(res.answers).map((d) => (d as { port: number }).port)).toEqual([80, 53]);
  });

  test("A on an SRV name is NODATA", () => {
    const res = answered(r, "_http._tcp.web.default.svc.cluster.local", "A");
    expect(res.rcode).toBe("NOERROR");
    expect(res.answers).toEqual([]);
  });
});

describe("pods", () => {
  const r = cluster();
  r.upsertPod(pod("default", "p1", "10.42.0.5"));

  test("insecure mode answers any dashed IP", () => {
    expect(data(answered(r, "10-42-9-9.default.pod.cluster.local").answers)).toEqual(["10.42.9.9"]);
  });

  test("verified mode answers only IPs of pods in that namespace", () => {
    expect(data(answered(r, "10-42-0-5.default.pod.cluster.local", "A", { pods: "verified" }).answers)).toEqual(["10.42.0.5"]);
    expect(answered(r, "10-42-0-5.other.pod.cluster.local", "A", { pods: "verified" }).rcode).toBe("NXDOMAIN");
    expect(answered(r, "10-42-9-9.default.pod.cluster.local", "A", { pods: "verified" }).rcode).toBe("NXDOMAIN");
  });

  test("malformed pod names are NXDOMAIN", () => {
    for (const name of ["10-42-0.default.pod.cluster.local", "10-42-0-256.default.pod.cluster.local", "10-42-0-05.default.pod.cluster.local", "x.y.default.pod.cluster.local"]) {
      expect([name, answered(r, name).rcode]).toEqual([name, "NXDOMAIN"]);
    }
  });

  test("a pod leaving or changing IP updates verified records", () => {
    const r2 = new ClusterRecords("cluster.local");
    r2.upsertPod(pod("default", "p", "10.42.0.1"));
    r2.upsertPod(pod("default", "p", "10.42.0.2"));
    expect(r2.hasPod("default", "10.42.0.1")).toBe(false);
    expect(r2.hasPod("default", "10.42.0.2")).toBe(true);
    r2.deletePod(pod("default", "p"));
    expect(r2.hasPod("default", "10.42.0.2")).toBe(false);
  });
});

describe("PTR and forwarding", () => {
  const r = cluster();
  r.upsertPod(pod("default", "p1", "10.42.3.3"));

  test("service, endpoint-hostname and pod IPs have PTR records", () => {
    expect(data(answered(r, "20.0.43.10.in-addr.arpa", "PTR").answers)).toEqual(["web.default.svc.cluster.local"]);
    expect(data(answered(r, "7.0.42.10.in-addr.arpa", "PTR").answers)).toEqual(["pg-0.pg.db.svc.cluster.local"]);
    expect(data(answered(r, "3.3.42.10.in-addr.arpa", "PTR").answers)).toEqual(["10-42-3-3.default.pod.cluster.local"]);
  });

  test("unknown reverse names and names outside the zone are forwarded", () => {
    expect(ask(r, "9.9.9.10.in-addr.arpa", "PTR").kind).toBe("forward");
    expect(ask(r, "example.com").kind).toBe("forward");
    expect(ask(r, "localcluster.local").kind).toBe("forward");
    expect(ask(r, "com").kind).toBe("forward");
  });

  test("a deleted service loses its records and its PTR; its namespace goes when empty", () => {
    const r2 = cluster();
    r2.deleteService(svc("default", "web", {}));
    expect(answered(r2, "web.default.svc.cluster.local").rcode).toBe("NXDOMAIN");
    expect(ask(r2, "20.0.43.10.in-addr.arpa", "PTR").kind).toBe("forward");
    for (const n of ["ext", "alias", "pending"]) r2.deleteService(svc("default", n, {}));
    expect(answered(r2, "default.svc.cluster.local").rcode).toBe("NXDOMAIN");
  });

  test("an updated ClusterIP moves the PTR", () => {
    const r2 = cluster();
    r2.upsertService(svc("default", "web", { clusterIP: "10.43.0.21", ports: [] }));
    expect(ask(r2, "20.0.43.10.in-addr.arpa", "PTR").kind).toBe("forward");
    expect(data(answered(r2, "21.0.43.10.in-addr.arpa", "PTR").answers)).toEqual(["web.default.svc.cluster.local"]);
  });

  test("another cluster domain", () => {
    const r2 = new ClusterRecords("corp.internal");
    r2.upsertService(svc("default", "web", { clusterIP: "10.43.0.9", ports: [] }));
    expect(data(answered(r2, "web.default.svc.corp.internal").answers)).toEqual(["10.43.0.9"]);
    expect(ask(r2, "web.default.svc.cluster.local").kind).toBe("forward");
  });
});

describe("slim transforms keep only what DNS needs", () => {
  test("service, endpoint slice and pod", () => {
    const full = {
      metadata: { name: "web", namespace: "default", resourceVersion: "7", labels: { a: "b" }, annotations: { big: "x".repeat(1000) }, uid: "u" },
      spec: { type: "ClusterIP", clusterIP: "10.43.0.20", selector: { app: "web" }, ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }] },
      status: { loadBalancer: {} },
    } as unknown as Service;
    expect(slimService(full)).toEqual({
      metadata: { name: "web", namespace: "default", resourceVersion: "7" },
      spec: { type: "ClusterIP", clusterIP: "10.43.0.20", externalName: undefined, ports: [{ name: "http", port: 80, protocol: "TCP" }] },
    } as unknown as Service);
    const e = slimSlice({
      metadata: { name: "web-a", namespace: "default", resourceVersion: "4", labels: { "kubernetes.io/service-name": "web", "endpointslice.kubernetes.io/managed-by": "x" }, ownerReferences: [] },
      addressType: "IPv4",
      endpoints: [{ addresses: ["1.2.3.4"], conditions: { ready: true }, hostname: "h", nodeName: "n1", zone: "z", targetRef: { kind: "Pod", name: "p" } }],
      ports: [{ name: "", port: 80, protocol: "TCP", appProtocol: "http" }],
    } as EndpointSlice);
    expect(e).toEqual({
      metadata: { name: "web-a", namespace: "default", resourceVersion: "4", labels: { "kubernetes.io/service-name": "web" } },
      addressType: "IPv4",
      endpoints: [{ addresses: ["1.2.3.4"], conditions: { ready: true }, hostname: "h", nodeName: "n1" }],
      ports: [{ name: "", port: 80, protocol: "TCP" }],
    } as EndpointSlice);
    const p = slimPod({ metadata: { name: "p", namespace: "default", resourceVersion: "3" }, spec: { containers: [] }, status: { podIP: "10.42.0.5", phase: "Running" } } as unknown as Pod);
    expect(p).toEqual({ metadata: { name: "p", namespace: "default", resourceVersion: "3" }, status: { podIP: "10.42.0.5" } } as unknown as Pod);
  });
});
