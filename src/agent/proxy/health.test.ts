// Health check NodePorts: kube-proxy's answers (200 with local ready endpoints, 503 without),
// servers following the Services, and the kube-dns Service left out of the rules.
import { afterEach, expect, test } from "bun:test";
import type { Service } from "../../api/resources/core/service";
import type { EndpointSlice } from "../../api/resources/discovery/endpointslice";
import { DEFAULT_CLUSTER_NETWORK } from "../../api/cluster-network";
import { createLogger } from "../../machinery/log";
import { HealthCheckServers, healthAnswer, healthCheckPort } from "./health";
import { isNodeLocalDns } from "./proxy";

const log = createLogger("health-test", { level: "error" });

const slice = (eps: { ip: string; node: string; ready?: boolean }[]): EndpointSlice =>
  ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "web-x", namespace: "default", labels: { "kubernetes.io/service-name": "web" } },
    addressType: "IPv4",
    endpoints: eps.map((e) => ({ addresses: [e.ip], nodeName: e.node, conditions: { ready: e.ready ?? true } })),
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  }) as EndpointSlice;

const lb = (name: string, healthCheckNodePort?: number, policy = "Local"): Service =>
  ({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec: { type: "LoadBalancer", externalTrafficPolicy: policy, healthCheckNodePort, ports: [{ port: 80 }] } }) as Service;

test("the answer counts this node's ready endpoints once each: 200 with some, 503 without, as kube-proxy", () => {
  const svc = { namespace: "default", name: "web" };
  const slices = [
    slice([
      { ip: "10.42.0.5", node: "n1" },
      { ip: "10.42.0.6", node: "n1", ready: false },
      { ip: "10.42.1.5", node: "n2" },
    ]),
    slice([{ ip: "10.42.0.5", node: "n1" }]),
  ];
  expect(healthAnswer(svc, slices, "n1", true)).toEqual({ status: 200, body: { service: svc, localEndpoints: 1, serviceProxyHealthy: true } });
  expect(healthAnswer(svc, slices, "n3", true)).toEqual({ status: 503, body: { service: svc, localEndpoints: 0, serviceProxyHealthy: true } });
  expect(healthAnswer(svc, slices, "n1", false).status).toBe(503);
});

test("only LoadBalancer Services with externalTrafficPolicy Local and a port have a health check", () => {
  expect(healthCheckPort(lb("a", 31000))).toBe(31000);
  expect(healthCheckPort(lb("b", 31000, "Cluster"))).toBeUndefined();
  expect(healthCheckPort(lb("c"))).toBeUndefined();
  expect(healthCheckPort({ ...lb("d", 31000), spec: { ...lb("d", 31000).spec, type: "NodePort" } } as Service)).toBeUndefined();
});

let servers: HealthCheckServers | undefined;
afterEach(() => servers?.stop());

test("servers follow the Services and answer over HTTP with kube-proxy's body", async () => {
  // A free port: bind one, free it, use it as the health check NodePort.
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);

  let services: Service[] = [lb("web", port)];
  let slices = [slice([{ ip: "10.42.0.5", node: "n1" }])];
  let healthy = true;
  servers = new HealthCheckServers(
    { services: () => services, service: (k) => services.find((s) => `default/${s.metadata.name}` === k), slices: () => slices, nodeName: "n1", proxyHealthy: () => healthy },
    log,
    "127.0.0.1",
  );
  servers.sync();
  expect(servers.ports()).toEqual([port]);
  const get = async () => {
    const r = await fetch(`http://127.0.0.1:${port}/`);
    return { status: r.status, type: r.headers.get("content-type"), body: await r.json() };
  };
  expect(await get()).toEqual({ status: 200, type: "application/json", body: { service: { namespace: "default", name: "web" }, localEndpoints: 1, serviceProxyHealthy: true } });

  slices = [slice([{ ip: "10.42.1.5", node: "n2" }])];
  expect(await get()).toEqual({ status: 503, type: "application/json", body: { service: { namespace: "default", name: "web" }, localEndpoints: 0, serviceProxyHealthy: true } });

  slices = [slice([{ ip: "10.42.0.5", node: "n1" }])];
  healthy = false;
  expect((await get()).status).toBe(503);
  healthy = true;

  // Policy back to Cluster: the port is no longer served.
  services = [lb("web", port, "Cluster")];
  servers.sync();
  expect(servers.ports()).toEqual([]);
  await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
});

test("a port that cannot be bound is skipped and tried again at the next sync", async () => {
  const squatter = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("someone else") });
  const port = squatter.port!;
  servers = new HealthCheckServers({ services: () => [lb("web", port)], service: () => lb("web", port), slices: () => [], nodeName: "n1", proxyHealthy: () => true }, log, "127.0.0.1");
  servers.sync();
  expect(servers.ports()).toEqual([]);
  squatter.stop(true);
  servers.sync();
  expect(servers.ports()).toEqual([port]);
  expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(503);
});

test("the Service at the cluster DNS address gets no proxy rules while the nodes answer DNS there, and does with the DNS off", () => {
  const dns = { metadata: { name: "kube-dns", namespace: "kube-system" }, spec: { clusterIP: "10.43.0.10", ports: [{ port: 53, protocol: "UDP" }] } } as Service;
  const other = { metadata: { name: "web", namespace: "default" }, spec: { clusterIP: "10.43.0.20", ports: [{ port: 80 }] } } as Service;
  expect(isNodeLocalDns(dns, DEFAULT_CLUSTER_NETWORK)).toBe(true);
  expect(isNodeLocalDns(other, DEFAULT_CLUSTER_NETWORK)).toBe(false);
  expect(isNodeLocalDns(dns, { ...DEFAULT_CLUSTER_NETWORK, clusterDnsServer: false })).toBe(false);
});
