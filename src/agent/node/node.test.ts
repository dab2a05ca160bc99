import { afterAll, beforeAll, expect, test } from "bun:test";
import { leases, type Lease } from "../../api/resources/coordination/lease";
import { nodes, type Node } from "../../api/resources/core/node";
import { nodeConditions, sameConditions } from "./conditions";
import { startHeartbeat } from "./heartbeat";
import { microTime, NODE_LEASE_NAMESPACE } from "./lease";
import { registerNode } from "./register";
import { KUBELET_VERSION, type NodeConfig } from "./spec";
import { eventually, startHttpTestApi, type HttpTestApi } from "./testing";

let api: HttpTestApi;
beforeAll(async () => {
  api = await startHttpTestApi();
});
afterAll(() => api.stop());

const config = (name: string, over: Partial<NodeConfig> = {}): NodeConfig => ({
  name,
  capacity: { cpu: "4", memory: "8192Mi", pods: "110" },
  internalIP: "172.31.0.7",
  labels: { "node-role.kubernetes.io/worker": "" },
  nodeInfo: { osImage: "Bramble Sim", kernelVersion: "6.1.0-sim", containerRuntimeVersion: "sim://0.1.0", architecture: "arm64", operatingSystem: "linux" },
  ...over,
});

test("microTime has six fractional digits; conditions keep their transition time while unchanged", () => {
  expect(microTime(new Date("2025-01-02T03:04:05.678Z"))).toBe("2025-01-02T03:04:05.678000Z");
  const first = nodeConditions({}, undefined, new Date("2025-01-01T00:00:00Z"));
  expect(first.map((c) => `${c.type}=${c.status}`)).toEqual(["MemoryPressure=False", "DiskPressure=False", "PIDPressure=False", "Ready=True"]);
  const later = nodeConditions({ Ready: { status: "False", reason: "RuntimeDown", message: "docker is unreachable" } }, first, new Date("2025-01-01T00:01:00Z"));
  expect(later.find((c) => c.type === "Ready")).toMatchObject({ status: "False", lastTransitionTime: "2025-01-01T00:01:00Z", lastHeartbeatTime: "2025-01-01T00:01:00Z" });
  expect(later.find((c) => c.type === "DiskPressure")?.lastTransitionTime).toBe("2025-01-01T00:00:00Z");
  expect(sameConditions(first, later)).toBe(false);
  expect(sameConditions(first, nodeConditions({}, first, new Date()))).toBe(true);
});

test("registerNode creates the Node with capacity, labels, addresses, nodeInfo and conditions", async () => {
  const node = await registerNode(api.client, config("reg-1"));
  expect(node.metadata.uid).toBeString();
  expect(node.metadata.labels).toMatchObject({
    "kubernetes.io/hostname": "reg-1",
    "kubernetes.io/arch": "arm64",
    "kubernetes.io/os": "linux",
    "node-role.kubernetes.io/worker": "",
  });
  expect(node.status?.capacity).toEqual({ cpu: "4", memory: "8Gi", pods: "110" });
  expect(node.status?.allocatable).toEqual({ cpu: "4", memory: "8Gi", pods: "110" });
  expect(node.status?.addresses).toEqual([
    { type: "InternalIP", address: "172.31.0.7" },
    { type: "Hostname", address: "reg-1" },
  ]);
  expect(node.status?.nodeInfo).toMatchObject({ kubeletVersion: KUBELET_VERSION, containerRuntimeVersion: "sim://0.1.0", osImage: "Bramble Sim", kernelVersion: "6.1.0-sim", architecture: "arm64", operatingSystem: "linux" });
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  expect(ready).toMatchObject({ status: "True", reason: "KubeletReady" });
  expect(ready?.lastHeartbeatTime).toBeString();

  // The columns of `kubectl get nodes -o wide`, from the server's Table.
  const table = await api.t.call("GET", "/api/v1/nodes/reg-1", undefined, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
  expect(table.body.rows[0].cells).toEqual(["reg-1", "Ready", "worker", expect.any(String), KUBELET_VERSION, "172.31.0.7", "<none>", "Bramble Sim", "6.1.0-sim", "sim://0.1.0"]);
});

test("registerNode adopts an existing Node: merges labels, keeps cordon and others' labels, replaces status", async () => {
  const api2 = api.client.resource<Node>(nodes);
  await api2.create(undefined, { metadata: { name: "reg-2", labels: { team: "a", "kubernetes.io/arch": "amd64" } }, spec: { unschedulable: true } });
  const node = await registerNode(api.client, config("reg-2"));
  expect(node.metadata.labels).toMatchObject({ team: "a", "kubernetes.io/arch": "arm64", "kubernetes.io/hostname": "reg-2" });
  expect(node.spec?.unschedulable).toBe(true);
  expect(node.status?.capacity?.cpu).toBe("4");
  expect(node.status?.conditions?.length).toBe(4);
});

test("heartbeat renews the Lease, answers someone else's status with its own, and stops cleanly", async () => {
  const node = await registerNode(api.client, config("hb-1"));
  const hb = startHeartbeat(api.client, { leaseIntervalMs: 100, statusReportIntervalMs: 60_000 });
  hb.add({ config: config("hb-1"), node });
  const leaseApi = api.client.resource<Lease>(leases);
  const first = await eventually(() => leaseApi.get(NODE_LEASE_NAMESPACE, "hb-1"), 5000, "the lease");
  expect(first.spec).toMatchObject({ holderIdentity: "hb-1", leaseDurationSeconds: 40 });
  expect(first.spec?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  expect(first.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Node", name: "hb-1", uid: node.metadata.uid! }]);
  await eventually(async () => (await leaseApi.get(NODE_LEASE_NAMESPACE, "hb-1")).spec?.renewTime !== first.spec?.renewTime, 5000, "a renewal");

  // The node lifecycle controller marks the node Unknown; the (alive) node corrects it.
  const nodeApi = api.client.resource<Node>(nodes);
  const current = await nodeApi.get(undefined, "hb-1");
  const unknown = current.status!.conditions!.map((c) => (c.type === "Ready" ? { ...c, status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status." } : c));
  const marked = await nodeApi.patch(undefined, "hb-1", { status: { conditions: unknown } }, "merge", "status");
  hb.observe(marked);
  await eventually(async () => (await nodeApi.get(undefined, "hb-1")).status?.conditions?.find((c) => c.type === "Ready")?.status === "True", 5000, "Ready again");

  await hb.stop();
  const stoppedAt = (await leaseApi.get(NODE_LEASE_NAMESPACE, "hb-1")).spec?.renewTime;
  await Bun.sleep(350);
  expect((await leaseApi.get(NODE_LEASE_NAMESPACE, "hb-1")).spec?.renewTime).toBe(stoppedAt);
});

test("many nodes share one timer and are spread over the interval", async () => {
  const hb = startHeartbeat(api.client, { leaseIntervalMs: 1000, concurrency: 8 });
  const registered = await Promise.all(Array.from({ length: 50 }, (_, i) => registerNode(api.client, config(`many-${i}`))));
  registered.forEach((node, i) => hb.add({ config: config(`many-${i}`), node }));
  const leaseApi = api.client.resource<Lease>(leases);
  await eventually(async () => (await leaseApi.list(NODE_LEASE_NAMESPACE)).items.filter((l) => l.metadata.name!.startsWith("many-")).length === 50, 5000, "50 leases");
  // After the first (immediate) round, renewals follow each node's own phase: over a second
  // they are spread out rather than all landing in one burst.
  await Bun.sleep(1100);
  const times = (await leaseApi.list(NODE_LEASE_NAMESPACE)).items.filter((l) => l.metadata.name!.startsWith("many-")).map((l) => Date.parse(l.spec!.renewTime!));
  await hb.stop();
  const spread = Math.max(...times) - Math.min(...times);
  expect(spread).toBeGreaterThan(300);
});
