// End to end against a real API server (in process, over HTTP): startClusterDns watches it,
// and the answers follow Services and EndpointSlices as they are created, changed and deleted.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { KubeClient } from "../../client/client";
import { createLogger } from "../../machinery/log";
import { startHttpTestApi, type HttpTestApi } from "../../server/apiserver/testing";
import { DEFAULT_CLUSTER_NETWORK } from "../cluster-network";
import { startClusterDns, type ClusterDns } from "./index";
import { askUdp, startFakeUpstream, type FakeUpstream, type Reply } from "./testing";

const HOST = "127.0.0.1";
let api: HttpTestApi;
let up: FakeUpstream;
let dns: ClusterDns;

beforeAll(async () => {
  api = await startHttpTestApi();
  up = await startFakeUpstream();
  dns = await startClusterDns({
    client: api.client,
    cluster: DEFAULT_CLUSTER_NETWORK,
    listen: { address: HOST, port: 0 },
    upstreams: [`${HOST}:${up.port}`],
    log: createLogger("dns-e2e", { level: "error" }),
  });
});
afterAll(async () => {
  await dns.stop();
  up.close();
  await api.stop();
});

/** Asks until `ok` holds (the informer is eventually consistent), then returns that reply. */
async function eventually(name: string, ok: (r: Reply) => boolean, type: "A" | "SRV" = "A"): Promise<Reply> {
  let last: Reply | undefined;
  for (let i = 0; i < 250; i++) {
    last = await askUdp(HOST, dns.port, name, type);
    if (ok(last)) return last;
    await Bun.sleep(20);
  }
  throw new Error(`${name}: never as expected; last ${JSON.stringify({ rcode: last?.rcode, answers: last?.answers })}`);
}

const ips = (r: Reply) => r.answers!.map((a) => ("data" in a ? a.data : undefined)).sort();

async function create(path: string, body: unknown) {
  const res = await api.t.call("POST", path, body);
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

describe("cluster DNS follows the API", () => {
  test("a Service appears with its allocated ClusterIP, and disappears when deleted", async () => {
    await eventually("web.default.svc.cluster.local", (r) => r.rcode === "NXDOMAIN");
    const svc = await create("/api/v1/namespaces/default/services", {
      metadata: { name: "web" },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80 }] },
    });
    const clusterIP = svc.spec.clusterIP as string;
    expect(clusterIP).toMatch(/^10\.43\./);
    const r = await eventually("web.default.svc.cluster.local", (r) => r.rcode === "NOERROR" && r.answers!.length === 1);
    expect(ips(r)).toEqual([clusterIP]);
    const srv = await eventually("_http._tcp.web.default.svc.cluster.local", (r) => r.answers!.length === 1, "SRV");
    expect(srv.answers![0]).toMatchObject({ type: "SRV", data: { port: 80, target: "web.default.svc.cluster.local" } });

    expect((await api.t.call("DELETE", "/api/v1/namespaces/default/services/web")).status).toBe(200);
    await eventually("web.default.svc.cluster.local", (r) => r.rcode === "NXDOMAIN");
  });

  test("a headless Service answers its ready endpoints, following EndpointSlice changes", async () => {
    await create("/api/v1/namespaces", { metadata: { name: "db" } });
    await create("/api/v1/namespaces/db/services", { metadata: { name: "pg" }, spec: { clusterIP: "None", selector: { app: "pg" }, ports: [{ name: "pg", port: 5432 }] } });
    await create("/apis/discovery.k8s.io/v1/namespaces/db/endpointslices", {
      metadata: { name: "pg-a", labels: { "kubernetes.io/service-name": "pg" } },
      addressType: "IPv4",
      endpoints: [
        { addresses: ["10.42.0.7"], hostname: "pg-0", conditions: { ready: true } },
        { addresses: ["10.42.0.8"], conditions: { ready: false } },
      ],
      ports: [{ name: "pg", port: 5432 }],
    });
    expect(ips(await eventually("pg.db.svc.cluster.local", (r) => r.answers!.length === 1))).toEqual(["10.42.0.7"]);
    expect(ips(await eventually("pg-0.pg.db.svc.cluster.local", (r) => r.answers!.length === 1))).toEqual(["10.42.0.7"]);

    const slice = (await api.t.call("GET", "/apis/discovery.k8s.io/v1/namespaces/db/endpointslices/pg-a")).body;
    slice.endpoints = [{ addresses: ["10.42.0.7"], hostname: "pg-0", conditions: { ready: true } }];
    expect((await api.t.call("PUT", "/apis/discovery.k8s.io/v1/namespaces/db/endpointslices/pg-a", slice)).status).toBe(200);
    // A second slice of the same Service: its endpoints join the first's.
    await create("/apis/discovery.k8s.io/v1/namespaces/db/endpointslices", {
      metadata: { name: "pg-b", labels: { "kubernetes.io/service-name": "pg" } },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.42.0.8"], hostname: "pg-1", conditions: { ready: true } }],
      ports: [{ name: "pg", port: 5432 }],
    });
    expect(ips(await eventually("pg.db.svc.cluster.local", (r) => r.answers!.length === 2))).toEqual(["10.42.0.7", "10.42.0.8"]);
    const srv = await eventually("_pg._tcp.pg.db.svc.cluster.local", (r) => r.answers!.length === 2, "SRV");
    expect(srv.answers!.map((a) => ("data" in a ? (a.data as { target: string }).target : "")).sort()).toEqual(["pg-0.pg.db.svc.cluster.local", "pg-1.pg.db.svc.cluster.local"]);
    // The per-pod name of a StatefulSet-style pod comes from its slice's hostname.
    expect(ips(await eventually("pg-1.pg.db.svc.cluster.local", (r) => r.answers!.length === 1))).toEqual(["10.42.0.8"]);
  });

  test("an ExternalName Service is a CNAME, chased through the upstream", async () => {
    await create("/api/v1/namespaces/default/services", { metadata: { name: "ext" }, spec: { type: "ExternalName", externalName: "example.test" } });
    const r = await eventually("ext.default.svc.cluster.local", (r) => r.answers!.length === 2);
    expect(r.answers!.map((a) => [a.type, "data" in a && a.data])).toEqual([
      ["CNAME", "example.test"],
      ["A", "192.0.2.1"],
    ]);
  });

  test("other names go to the upstream", async () => {
    expect(ips(await askUdp(HOST, dns.port, "example.test"))).toEqual(["192.0.2.1"]);
  });
});

describe("start-up faults", () => {
  test("an address it cannot bind is a logged error, not a crash; stop still works", async () => {
    const lines: string[] = [];
    const d = await startClusterDns({
      client: api.client,
      cluster: DEFAULT_CLUSTER_NETWORK,
      // TEST-NET-1: on no interface here, so the bind fails (EADDRNOTAVAIL); nothing is sent.
      listen: { address: "192.0.2.53", port: 0 },
      upstreams: [],
      log: createLogger("dns-bind", { level: "error", write: (l) => lines.push(l) }),
    });
    expect(d.port).toBe(0);
    expect(lines.join("\n")).toContain("cluster DNS cannot listen");
    expect(lines.join("\n")).toContain("192.0.2.53");
    await d.stop();
  });

  test("before the API has answered, cluster names are SERVFAIL (not a cached NXDOMAIN) and other names are forwarded", async () => {
    const closed = Bun.listen({ hostname: HOST, port: 0, socket: { data() {} } });
    const deadApi = closed.port;
    closed.stop(true);
    const d = await startClusterDns({
      client: new KubeClient({ server: `http://${HOST}:${deadApi}`, token: "x", namespace: "default" }),
      cluster: DEFAULT_CLUSTER_NETWORK,
      listen: { address: HOST, port: 0 },
      upstreams: [`${HOST}:${up.port}`],
      log: createLogger("dns-nosync", { level: "error" }),
    });
    try {
      expect((await askUdp(HOST, d.port, "web.default.svc.cluster.local")).rcode).toBe("SERVFAIL");
      expect((await askUdp(HOST, d.port, "nope.nope.svc.cluster.local")).rcode).toBe("SERVFAIL");
      expect(ips(await askUdp(HOST, d.port, "example.test"))).toEqual(["192.0.2.1"]);
    } finally {
      await d.stop();
    }
  });
});
