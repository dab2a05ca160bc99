import { afterAll, beforeAll, expect, test } from "bun:test";
import { leases, type Lease } from "../../api/resources/coordination/lease";
import { nodes, type Node } from "../../api/resources/core/node";
import { pods, type Pod } from "../../api/resources/core/pod";
import { cidrContains, parseCidr } from "../../machinery/cidr";
import { NODE_LEASE_NAMESPACE } from "../node/lease";
import { eventually, startHttpTestApi, type HttpTestApi } from "../node/testing";
import { SIM_DEFAULTS, SIM_LABEL, startSim, type Sim, type SimConfig } from "./sim";

let api: HttpTestApi;
let sim: Sim;
const cfg: SimConfig = { ...SIM_DEFAULTS, kubeconfig: "", nodes: 3, labels: { zone: "a" }, heartbeatIntervalMs: 100, workers: 16 };

beforeAll(async () => {
  api = await startHttpTestApi();
  sim = await startSim(cfg, { client: api.client });
});
afterAll(async () => {
  await sim.stop();
  await api.stop();
});

const podApi = () => api.client.resource<Pod>(pods);
const podOn = (name: string, nodeName?: string): Pod => ({
  metadata: { name },
  spec: { nodeName, containers: [{ name: "app", image: "nginx:1.27" }, { name: "side", image: "busybox" }], initContainers: [{ name: "init", image: "busybox" }] },
});
const running = (name: string) => eventually(async () => {
  const p = await podApi().get("default", name);
  return p.status?.phase === "Running" ? p : undefined;
}, 5000, `${name} Running`);

test("registers N nodes with capacity, labels and Ready, and renews their Leases", async () => {
  expect(sim.nodeNames.sort()).toEqual(["sim-0", "sim-1", "sim-2"]);
  const list = await api.client.resource<Node>(nodes).list(undefined, { labelSelector: `${SIM_LABEL}=true` });
  expect(list.items.map((n) => n.metadata.name).sort()).toEqual(["sim-0", "sim-1", "sim-2"]);
  const n1 = list.items.find((n) => n.metadata.name === "sim-1")!;
  expect(n1.metadata.labels).toMatchObject({ zone: "a", "kubernetes.io/hostname": "sim-1", "kubernetes.io/os": "linux" });
  expect(n1.status?.capacity).toEqual({ cpu: "4", memory: "8Gi", pods: "110" });
  expect(n1.status?.addresses?.[0]).toEqual({ type: "InternalIP", address: "172.31.0.2" });
  expect(n1.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
  const leaseApi = api.client.resource<Lease>(leases);
  const first = await eventually(() => leaseApi.get(NODE_LEASE_NAMESPACE, "sim-2"), 5000, "sim-2's lease");
  await eventually(async () => (await leaseApi.get(NODE_LEASE_NAMESPACE, "sim-2")).spec?.renewTime !== first.spec?.renewTime, 5000, "a renewal");
});

test("a pod bound to a sim node becomes Running and Ready with an IP from the node's pod CIDR", async () => {
  await podApi().create("default", podOn("web", "sim-1"));
  const pod = await running("web");
  const st = pod.status!;
  expect(cidrContains(parseCidr("10.42.1.0/24"), st.podIP!)).toBe(true);
  expect(st.podIPs).toEqual([{ ip: st.podIP! }]);
  expect(st.hostIP).toBe("172.31.0.2");
  expect(st.startTime).toBeString();
  expect(st.qosClass).toBe("BestEffort");
  expect(Object.fromEntries(st.conditions!.map((c) => [c.type, c.status]))).toMatchObject({ PodScheduled: "True", Initialized: "True", ContainersReady: "True", Ready: "True" });
  expect(st.containerStatuses).toHaveLength(2);
  expect(st.containerStatuses![0]).toMatchObject({ name: "app", ready: true, started: true, restartCount: 0, image: "nginx:1.27", state: { running: { startedAt: expect.any(String) } } });
  expect(st.containerStatuses![0].containerID).toMatch(/^sim:\/\/[0-9a-f]{64}$/);
  expect(st.initContainerStatuses![0].state?.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
  // The kubectl table shows it as upstream would.
  const table = await api.t.call("GET", "/api/v1/namespaces/default/pods/web", undefined, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
  expect(table.body.rows[0].cells.slice(0, 3)).toEqual(["web", "2/2", "Running"]);
});

test("a pod bound through the binding subresource runs too; pods on other nodes are left alone", async () => {
  await podApi().create("default", podOn("bound"));
  await podApi().create("default", podOn("elsewhere", "real-node"));
  await podApi().post("default", "bound", "binding", { apiVersion: "v1", kind: "Binding", metadata: { name: "bound" }, target: { apiVersion: "v1", kind: "Node", name: "sim-2" } });
  const pod = await running("bound");
  expect(cidrContains(parseCidr("10.42.2.0/24"), pod.status!.podIP!)).toBe(true);
  expect((await podApi().get("default", "elsewhere")).status?.phase).toBe("Pending");
});

test("graceful deletion stops the containers and removes the pod", async () => {
  await podApi().create("default", podOn("doomed", "sim-0"));
  await running("doomed");
  const marked = await podApi().delete("default", "doomed");
  expect(marked.metadata.deletionTimestamp).toBeString(); // graceful: the node finishes it
  await eventually(async () => {
    try {
      await podApi().get("default", "doomed");
      return false;
    } catch (e) {
      return (e as { code?: number }).code === 404;
    }
  }, 5000, "the pod to be gone");
});

test("many pods go Running through the API (throughput printed, not asserted)", async () => {
  const n = 600;
  const t0 = performance.now();
  const created = Array.from({ length: n }, (_, i) => podApi().create("default", { metadata: { name: `bulk-${i}` }, spec: { nodeName: `sim-${i % 3}`, containers: [{ name: "c", image: "pause" }] } }));
  await Promise.all(created);
  await eventually(async () => {
    const list = await podApi().list("default", { fieldSelector: "status.phase=Running" });
    return list.items.filter((p) => p.metadata.name!.startsWith("bulk-")).length === n;
  }, 30_000, "all bulk pods Running");
  const s = (performance.now() - t0) / 1000;
  console.log(`sim: ${n} pods created and Running in ${s.toFixed(2)} s (${Math.round(n / s)} pods/s, in-process memory store)`);
  const ips = new Set((await podApi().list("default")).items.filter((p) => p.status?.podIP).map((p) => p.status!.podIP));
  expect(ips.size).toBe((await podApi().list("default")).items.filter((p) => p.status?.podIP).length); // all unique
});

test("a restarted sim adopts its nodes and pods; a stopped one renews no more Leases", async () => {
  await sim.stop();
  const leaseApi = api.client.resource<Lease>(leases);
  const before = (await leaseApi.get(NODE_LEASE_NAMESPACE, "sim-0")).spec?.renewTime;
  await Bun.sleep(300);
  expect((await leaseApi.get(NODE_LEASE_NAMESPACE, "sim-0")).spec?.renewTime).toBe(before);

  const web = await podApi().get("default", "web");
  sim = await startSim(cfg, { client: api.client });
  await eventually(async () => (await leaseApi.get(NODE_LEASE_NAMESPACE, "sim-0")).spec?.renewTime !== before, 5000, "renewals again");
  const again = await podApi().get("default", "web");
  expect(again.status?.podIP).toBe(web.status!.podIP!);
  expect(again.metadata.resourceVersion).toBe(web.metadata.resourceVersion!); // not rewritten
  // New pods do not get an address already in use.
  await podApi().create("default", podOn("after-restart", "sim-1"));
  expect((await running("after-restart")).status?.podIP).not.toBe(web.status!.podIP!);
});

test("a finished pod gives its address back: a full pod CIDR takes new pods once others finish", async () => {
  // A node of its own: its /24 holds 253 pod addresses.
  const tiny = await startSim({ ...cfg, prefix: "full", nodes: 1, labels: {} }, { client: api.client });
  try {
    const names = Array.from({ length: 253 }, (_, i) => `full-pod-${i}`);
    for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map((n) => podApi().create("default", podOn(n, "full-0"))));
    const onNode = async () => (await podApi().list("default")).items.filter((p) => p.spec?.nodeName === "full-0");
    await eventually(async () => (await onNode()).filter((p) => p.status?.phase === "Running").length === 253 || undefined, 20_000, "253 pods Running");
    // The block is full: one more pod waits.
    await podApi().create("default", podOn("full-pod-extra", "full-0"));
    await Bun.sleep(300);
    expect((await podApi().get("default", "full-pod-extra")).status?.phase).toBe("Pending");
    // One pod finishes (its containers exited, as a Job's pod does); its address goes to the waiting pod.
    const done = await podApi().get("default", "full-pod-0");
    await podApi().patch("default", "full-pod-0", { status: { phase: "Succeeded" } }, "merge", "status");
    const extra = await eventually(async () => {
      const p = await podApi().get("default", "full-pod-extra");
      return p.status?.phase === "Running" ? p : undefined;
    }, 20_000, "the extra pod Running");
    expect(extra.status!.podIP).toBe(done.status!.podIP!);
  } finally {
    await tiny.stop();
  }
}, 60_000);
