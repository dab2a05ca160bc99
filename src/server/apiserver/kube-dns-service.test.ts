// The kube-dns Service: made at the cluster DNS address by the server, its endpoints listing the
// nodes, kept while the server runs, absent with --disable coredns.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestApi, testConfig, type TestApi } from "./testing";
import { ensureKubeDnsService } from "./kube-dns-service";

const SVC = "/api/v1/namespaces/kube-system/services/kube-dns";
const EP = "/api/v1/namespaces/kube-system/endpoints/kube-dns";
const SLICE = "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/kube-dns";

async function addNode(t: TestApi, name: string, ip: string, ready: boolean) {
  expect((await t.call("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name } })).status).toBe(201);
  const node = (await t.call("GET", `/api/v1/nodes/${name}`)).body;
  node.status = { addresses: [{ type: "InternalIP", address: ip }, { type: "Hostname", address: name }], conditions: [{ type: "Ready", status: ready ? "True" : "False", reason: "Test", lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }] };
  expect((await t.call("PUT", `/api/v1/nodes/${name}/status`, node)).status).toBe(200);
}

describe("the kube-dns Service", () => {
  let t: TestApi;
  const config = testConfig({ serviceCidr: "10.43.0.0/16", clusterDns: "10.43.0.10" });
  const ensure = () => ensureKubeDnsService(t.api.context.objects, config, t.api.context.resource);
  beforeAll(async () => {
    t = await startTestApi(config);
  });
  afterAll(() => t.stop());

  test("is made at start at the cluster DNS address, with upstream's name, labels and ports and no selector", async () => {
    const svc = (await t.call("GET", SVC)).body;
    expect(svc.metadata.labels).toEqual({ "k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS" });
    expect(svc.spec).toMatchObject({ type: "ClusterIP", clusterIP: "10.43.0.10", clusterIPs: ["10.43.0.10"] });
    expect(svc.spec.ports.map((p: any) => [p.name, p.port, p.protocol])).toEqual([
      ["dns", 53, "UDP"],
      ["dns-tcp", 53, "TCP"],
      ["metrics", 9153, "TCP"],
    ]);
    expect(svc.spec.selector).toBeUndefined();
    // No nodes yet: endpoints exist and are empty.
    expect((await t.call("GET", EP)).body.subsets ?? []).toEqual([]);
    expect((await t.call("GET", SLICE)).body.endpoints ?? []).toEqual([]);
  });

  test("its Endpoints and EndpointSlice list every node's InternalIP, ready as the Node is, and are not rewritten when right", async () => {
    await addNode(t, "node-b", "192.168.1.12", false);
    await addNode(t, "node-a", "192.168.1.11", true);
    await ensure();
    const ep = (await t.call("GET", EP)).body;
    expect(ep.metadata.labels).toMatchObject({ "k8s-app": "kube-dns", "endpointslice.kubernetes.io/skip-mirror": "true" });
    expect(ep.subsets).toEqual([
      {
        addresses: [{ ip: "192.168.1.11", nodeName: "node-a" }],
        notReadyAddresses: [{ ip: "192.168.1.12", nodeName: "node-b" }],
        ports: [
          { name: "dns", port: 53, protocol: "UDP" },
          { name: "dns-tcp", port: 53, protocol: "TCP" },
          { name: "metrics", port: 9153, protocol: "TCP" },
        ],
      },
    ]);
    const slice = (await t.call("GET", SLICE)).body;
    expect(slice.metadata.labels).toMatchObject({ "k8s-app": "kube-dns", "kubernetes.io/service-name": "kube-dns" });
    expect(slice.endpoints.map((e: any) => [e.addresses[0], e.nodeName, e.conditions.ready])).toEqual([
      ["192.168.1.11", "node-a", true],
      ["192.168.1.12", "node-b", false],
    ]);
    const bySelector = (await t.call("GET", "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices?labelSelector=k8s-app%3Dkube-dns")).body;
    expect(bySelector.items.map((s: any) => s.metadata.name)).toEqual(["kube-dns"]);

    const rv = [(await t.call("GET", SVC)).body, ep, slice].map((o) => o.metadata.resourceVersion);
    await ensure();
    await ensure();
    expect([(await t.call("GET", SVC)).body, (await t.call("GET", EP)).body, (await t.call("GET", SLICE)).body].map((o) => o.metadata.resourceVersion)).toEqual(rv);
  });

  test("is made again when deleted, endpoints included", async () => {
    expect((await t.call("DELETE", SVC)).status).toBe(200);
    expect((await t.call("DELETE", EP)).status).toBe(200);
    expect((await t.call("DELETE", SLICE)).status).toBe(200);
    await ensure();
    expect((await t.call("GET", SVC)).body.spec.clusterIP).toBe("10.43.0.10");
    expect((await t.call("GET", EP)).body.subsets[0].addresses).toEqual([{ ip: "192.168.1.11", nodeName: "node-a" }]);
    expect((await t.call("GET", SLICE)).body.endpoints).toHaveLength(2);
  });

  test("a Node joining or leaving shows in the endpoints soon, without waiting for the periodic check", async () => {
    await addNode(t, "node-c", "192.168.1.13", true);
    const has = async (ip: string) => JSON.stringify((await t.call("GET", EP)).body.subsets ?? []).includes(ip);
    for (let i = 0; i < 100 && !(await has("192.168.1.13")); i++) await Bun.sleep(20);
    expect(await has("192.168.1.13")).toBe(true);
    expect((await t.call("DELETE", "/api/v1/nodes/node-c")).status).toBe(200);
    for (let i = 0; i < 100 && (await has("192.168.1.13")); i++) await Bun.sleep(20);
    expect(await has("192.168.1.13")).toBe(false);
  });

  test("no other Service may take the cluster DNS address", async () => {
    const r = await t.call("POST", "/api/v1/namespaces/default/services", { metadata: { name: "kube-dns" }, spec: { clusterIP: "10.43.0.10", ports: [{ port: 53 }] } });
    expect(r.status).toBe(422);
    expect(r.body.message).toContain("failed to allocate IP 10.43.0.10: provided IP is already allocated");
  });
});

describe("with --disable coredns", () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ clusterDnsServer: false });
  });
  afterAll(() => t.stop());

  test("there is no kube-dns Service, and one's own kube-system/kube-dns (a CoreDNS of one's own) may take the address", async () => {
    expect((await t.call("GET", SVC)).status).toBe(404);
    expect((await t.call("GET", EP)).status).toBe(404);
    const own = await t.call("POST", "/api/v1/namespaces/kube-system/services", {
      metadata: { name: "kube-dns" },
      spec: { selector: { "k8s-app": "kube-dns" }, clusterIP: "10.43.0.10", ports: [{ name: "dns", port: 53, protocol: "UDP" }] },
    });
    expect(own.status).toBe(201);
    expect(own.body.spec.clusterIP).toBe("10.43.0.10");
    // Deleting it does not free the address for anyone else.
    expect((await t.call("DELETE", SVC)).status).toBe(200);
    const other = await t.call("POST", "/api/v1/namespaces/default/services", { metadata: { name: "x" }, spec: { clusterIP: "10.43.0.10", ports: [{ port: 53 }] } });
    expect(other.status).toBe(422);
  });
});
