// Service allocation and Service validation through the API, with upstream's error messages.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestApi, type TestApi } from "../testing";
import { ServiceAllocator } from "./services";
import { services as servicesDef } from "../../../api/resources/core/service";

const SVC = "/api/v1/namespaces/default/services";
const svc = (name: string, spec: Record<string, unknown> = {}) => ({ apiVersion: "v1", kind: "Service", metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } });

describe("the cluster DNS address is never a user Service's", () => {
  let t: TestApi;
  beforeAll(async () => {
    // A /28: offsets 1-14; 1 is the `kubernetes` Service's, 10 the cluster DNS's.
    t = await startTestApi({ serviceCidr: "10.43.0.0/28", clusterDns: "10.43.0.10" });
  });
  afterAll(() => t.stop());

  test("asking for it is a 422 with upstream's message", async () => {
    const r = await t.call("POST", SVC, svc("dns-thief", { clusterIP: "10.43.0.10" }));
    expect(r.status).toBe(422);
    expect(r.body.reason).toBe("Invalid");
    expect(r.body.message).toBe('Service "dns-thief" is invalid: spec.clusterIPs: Invalid value: []string{"10.43.0.10"}: failed to allocate IP 10.43.0.10: provided IP is already allocated');
    expect(r.body.details.causes).toEqual([{ reason: "FieldValueInvalid", field: "spec.clusterIPs", message: 'Invalid value: []string{"10.43.0.10"}: failed to allocate IP 10.43.0.10: provided IP is already allocated' }]);
    expect((await t.call("GET", `${SVC}/dns-thief`)).status).toBe(404);
  });

  test("an address outside the range names the range, as upstream", async () => {
    const r = await t.call("POST", SVC, svc("far", { clusterIP: "10.99.0.5" }));
    expect(r.status).toBe(422);
    expect(r.body.message).toBe('Service "far" is invalid: spec.clusterIPs: Invalid value: []string{"10.99.0.5"}: failed to allocate IP 10.99.0.5: the provided IP (10.99.0.5) is not in the valid range. The range of valid IPs is 10.43.0.0/28');
  });

  test("filling the range hands out every address but the DNS one and the `kubernetes` one", async () => {
    const ips: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await t.call("POST", SVC, svc(`fill-${i}`));
      expect(r.status).toBe(201);
      ips.push(r.body.spec.clusterIP);
    }
    expect(ips).not.toContain("10.43.0.10");
    expect(ips).not.toContain("10.43.0.1");
    expect(new Set(ips).size).toBe(12);
    const full = await t.call("POST", SVC, svc("one-too-many"));
    expect(full.status).toBe(422);
    expect(full.body.message).toContain("failed to allocate a serviceIP: range is full");
  });
});

test("a Service that held the DNS address before it was reserved does not free it when deleted", () => {
  const a = new ServiceAllocator("10.43.0.0/24", [30000, 30010], { reservedIps: ["10.43.0.10"] });
  const old = { metadata: { name: "legacy", namespace: "default" }, spec: { clusterIP: "10.43.0.10", ports: [{ port: 53 }] } };
  a.restore([old]);
  a.deleted(servicesDef, old);
  expect(() => a.admit("create", servicesDef, { metadata: { name: "x" }, spec: { clusterIP: "10.43.0.10", ports: [{ port: 80 }] } }, undefined)).toThrow("provided IP is already allocated");
});

describe("NodePorts, traffic policies and type changes", () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi();
  });
  afterAll(() => t.stop());

  test("a NodePort already taken, or outside the range, is a 422 with upstream's message and writes nothing", async () => {
    expect((await t.call("POST", SVC, svc("np-a", { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] }))).status).toBe(201);
    const taken = await t.call("POST", SVC, svc("np-b", { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] }));
    expect(taken.status).toBe(422);
    expect(taken.body.message).toBe('Service "np-b" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated');
    const far = await t.call("POST", SVC, svc("np-c", { type: "NodePort", ports: [{ port: 80, nodePort: 40000 }] }));
    expect(far.status).toBe(422);
    expect(far.body.message).toBe('Service "np-c" is invalid: spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767');
    expect((await t.call("GET", `${SVC}/np-b`)).status).toBe(404);
    expect((await t.call("GET", `${SVC}/np-c`)).status).toBe(404);
    // The failed creates reserved nothing: the port is still np-a's alone, and free once np-a is gone.
    await t.call("DELETE", `${SVC}/np-a`);
    expect((await t.call("POST", SVC, svc("np-d", { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] }))).status).toBe(201);
  });

  test("externalTrafficPolicy: Cluster or Local, only for externally-accessible Services, defaulted as upstream", async () => {
    const bad = await t.call("POST", SVC, svc("etp-bad", { type: "NodePort", externalTrafficPolicy: "Sometimes" }));
    expect(bad.status).toBe(422);
    expect(bad.body.message).toBe('Service "etp-bad" is invalid: spec.externalTrafficPolicy: Unsupported value: "Sometimes": supported values: "Cluster", "Local"');
    const internal = await t.call("POST", SVC, svc("etp-internal", { externalTrafficPolicy: "Local" }));
    expect(internal.status).toBe(422);
    expect(internal.body.message).toBe('Service "etp-internal" is invalid: spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services');
    const itp = await t.call("POST", SVC, svc("itp-bad", { internalTrafficPolicy: "Nearby" }));
    expect(itp.status).toBe(422);
    expect(itp.body.message).toContain('spec.internalTrafficPolicy: Unsupported value: "Nearby": supported values: "Cluster", "Local"');

    const np = (await t.call("POST", SVC, svc("etp-np", { type: "NodePort" }))).body;
    expect(np.spec.externalTrafficPolicy).toBe("Cluster");
    expect(np.spec.internalTrafficPolicy).toBe("Cluster");
    const ext = (await t.call("POST", SVC, svc("etp-extip", { externalIPs: ["192.168.1.200"] }))).body;
    expect(ext.spec.externalTrafficPolicy).toBe("Cluster");
    const plain = (await t.call("POST", SVC, svc("etp-plain"))).body;
    expect(plain.spec.externalTrafficPolicy).toBeUndefined();
    const local = await t.call("POST", SVC, svc("etp-local", { type: "LoadBalancer", externalTrafficPolicy: "Local" }));
    expect(local.status).toBe(201);
    const hc = await t.call("POST", SVC, svc("hc-cluster", { type: "LoadBalancer", healthCheckNodePort: 31999 }));
    expect(hc.status).toBe(422);
    expect(hc.body.message).toContain("spec.healthCheckNodePort: Invalid value: 31999: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'");
  });

  test("LoadBalancer → ClusterIP with the whole object sent back (kubectl edit) drops the type's fields and frees its NodePorts", async () => {
    const lb = (await t.call("POST", SVC, svc("lb-edit", { type: "LoadBalancer", ports: [{ port: 80, nodePort: 31080 }] }))).body;
    expect(lb.spec.allocateLoadBalancerNodePorts).toBe(true);
    await t.call("PUT", `${SVC}/lb-edit/status`, { ...lb, status: { loadBalancer: { ingress: [{ ip: "192.168.1.5" }] } } });
    const withStatus = (await t.call("GET", `${SVC}/lb-edit`)).body;
    expect(withStatus.status.loadBalancer.ingress).toEqual([{ ip: "192.168.1.5", ipMode: "VIP" }]);

    const r = await t.call("PUT", `${SVC}/lb-edit`, { ...withStatus, spec: { ...withStatus.spec, type: "ClusterIP" } });
    expect(r.status).toBe(200);
    expect(r.body.spec.type).toBe("ClusterIP");
    expect(r.body.spec.clusterIP).toBe(lb.spec.clusterIP);
    expect(r.body.spec.ports[0].nodePort).toBeUndefined();
    expect(r.body.spec.externalTrafficPolicy).toBeUndefined();
    expect(r.body.spec.allocateLoadBalancerNodePorts).toBeUndefined();
    expect(r.body.status.loadBalancer).toEqual({});
    expect((await t.call("POST", SVC, svc("takes-31080", { type: "NodePort", ports: [{ port: 80, nodePort: 31080 }] }))).status).toBe(201);

    // A net-new NodePort in the same update is the client's mistake, reported, not dropped.
    const np = (await t.call("POST", SVC, svc("np-edit", { type: "NodePort", ports: [{ port: 80, nodePort: 31081 }] }))).body;
    const bad = await t.call("PUT", `${SVC}/np-edit`, { ...np, spec: { ...np.spec, type: "ClusterIP", ports: [{ port: 80, protocol: "TCP", targetPort: 80, nodePort: 31082 }] } });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toContain("spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'");
  });

  test("LoadBalancer + Local gets a healthCheckNodePort from the NodePort range, kept across updates and freed when no longer needed", async () => {
    const lb = (await t.call("POST", SVC, svc("hc-local", { type: "LoadBalancer", externalTrafficPolicy: "Local" }))).body;
    const hc = lb.spec.healthCheckNodePort;
    expect(hc).toBeGreaterThanOrEqual(30000);
    expect(hc).toBeLessThanOrEqual(32767);
    expect(lb.spec.ports[0].nodePort).not.toBe(hc);
    const clash = await t.call("POST", SVC, svc("wants-hc", { type: "NodePort", ports: [{ port: 80, nodePort: hc }] }));
    expect(clash.status).toBe(422);
    const asked = await t.call("POST", SVC, svc("hc-asked", { type: "LoadBalancer", externalTrafficPolicy: "Local", healthCheckNodePort: hc }));
    expect(asked.status).toBe(422);
    expect(asked.body.message).toBe(`Service "hc-asked" is invalid: spec.healthCheckNodePort: Invalid value: ${hc}: failed to allocate requested HealthCheck NodePort ${hc}: provided port is already allocated`);

    // An update that leaves it out (kubectl replace) keeps it.
    const { healthCheckNodePort: _drop, ...specWithout } = lb.spec;
    const kept = await t.call("PUT", `${SVC}/hc-local`, { ...lb, spec: specWithout });
    expect(kept.body.spec.healthCheckNodePort).toBe(hc);
    // Cluster policy needs none: it is dropped and its port is free again.
    const cluster = await t.call("PUT", `${SVC}/hc-local`, { ...kept.body, spec: { ...kept.body.spec, externalTrafficPolicy: "Cluster" } });
    expect(cluster.status).toBe(200);
    expect(cluster.body.spec.healthCheckNodePort).toBeUndefined();
    expect((await t.call("POST", SVC, svc("wants-hc", { type: "NodePort", ports: [{ port: 80, nodePort: hc }] }))).status).toBe(201);
  });

  test("a healthCheckNodePort that is no port number is a 422 naming the field, nothing written", async () => {
    for (const bad of [70000, -5]) {
      const r = await t.call("POST", SVC, svc(`hc-bad-${bad < 0 ? "neg" : "big"}`, { type: "LoadBalancer", externalTrafficPolicy: "Local", healthCheckNodePort: bad }));
      expect(r.status).toBe(422);
      expect(r.body.details.causes.map((c: any) => c.field)).toEqual(["spec.healthCheckNodePort"]);
      expect(r.body.message).toContain(`spec.healthCheckNodePort: Invalid value: ${bad}: must be between 1 and 65535, inclusive`);
    }
    expect((await t.call("GET", `${SVC}/hc-bad-big`)).status).toBe(404);
  });

  test("allocateLoadBalancerNodePorts: false leaves a LoadBalancer without NodePorts", async () => {
    const r = await t.call("POST", SVC, svc("lb-no-np", { type: "LoadBalancer", allocateLoadBalancerNodePorts: false }));
    expect(r.status).toBe(201);
    expect(r.body.spec.ports[0].nodePort).toBeUndefined();
  });
});
