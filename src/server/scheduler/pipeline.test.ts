// Scenario tests through the harness: a cluster state in memory, the real pipeline and cache.
import { expect, test } from "bun:test";
import { Harness, makeNode, makePod } from "./harness";

const nodes = (n: number, o = {}) => Array.from({ length: n }, (_, i) => makeNode(`node-${String(i).padStart(2, "0")}`, o));
const pods = (n: number, o = {}) => Array.from({ length: n }, (_, i) => makePod(`pod-${i}`, o));

test("bin-packing places N pods on the minimum number of nodes", () => {
  // 4 cpu nodes, 1 cpu pods: 12 pods need exactly 3 of the 10 nodes.
  const r = new Harness("binpack").addNodes(...nodes(10)).schedule(pods(12, { cpu: "1", memory: "1Gi" }));
  expect(r.failures.size).toBe(0);
  expect(Harness.nodesUsed(r)).toBe(3);
});

test("spread puts one pod per node before doubling up", () => {
  const r = new Harness("spread").addNodes(...nodes(5)).schedule(pods(5, { cpu: "1", memory: "1Gi" }));
  expect(Harness.nodesUsed(r)).toBe(5);
});

test("ties go to the smallest node name, so placement is reproducible", () => {
  const r = new Harness("binpack").addNodes(makeNode("c"), makeNode("a"), makeNode("b")).schedule(pods(1, { cpu: "1" }));
  expect(r.placements.get("default/pod-0")).toBe("a");
});

test("a pod too big for every node gets upstream's message, reasons counted per node", () => {
  const h = new Harness().addNodes(...nodes(8), makeNode("cordoned-1", { unschedulable: true }), makeNode("cordoned-2", { unschedulable: true }));
  const r = h.schedule([makePod("huge", { cpu: "8" })]);
  expect(r.failures.get("default/huge")).toBe("0/10 nodes are available: 2 node(s) were unschedulable, 8 Insufficient cpu.");
});

test("a node stops at its first failing filter, so each node adds one kind of reason", () => {
  const h = new Harness().addNodes(
    makeNode("tainted", { cpu: "1", taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }),
    makeNode("small", { cpu: "1" }),
    makeNode("wrong-zone", { labels: { zone: "b" } }),
  );
  const r = h.schedule([makePod("p", { cpu: "2", spec: { nodeSelector: { "kubernetes.io/hostname": "small" } } })]);
  expect(r.failures.get("default/p")).toBe(
    "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: gpu}.",
  );
});

test("assumed placements count: the next pod does not land on a node the previous one filled", () => {
  const r = new Harness().addNodes(...nodes(2, { cpu: "1" })).schedule(pods(3, { cpu: "1" }));
  expect(new Set(r.placements.values()).size).toBe(2);
  expect(r.failures.get("default/pod-2")).toBe("0/2 nodes are available: 2 Insufficient cpu.");
});

test("preferred node affinity beats bin-packing; PreferNoSchedule steers pods away", () => {
  const h = new Harness().addNodes(makeNode("a"), makeNode("b", { labels: { disk: "ssd" } }), makeNode("c", { taints: [{ key: "spot", effect: "PreferNoSchedule" }] }));
  h.addPods({ ...makePod("busy", { cpu: "3" }), spec: { ...makePod("busy", { cpu: "3" }).spec!, nodeName: "c" } });
  const prefers = makePod("p", {
    cpu: "100m",
    spec: { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: "disk", operator: "Exists" }] } }] } } },
  });
  const plain = makePod("q", { cpu: "100m" });
  const r = h.schedule([prefers, plain]);
  expect(r.placements.get("default/p")).toBe("b");
  // c is the fullest node, but its PreferNoSchedule taint outweighs packing; b now holds p.
  expect(r.placements.get("default/q")).toBe("b");
});

test("anti-affinity replicas land on different nodes, and the surplus replica is unschedulable", () => {
  const replica = (i: number) =>
    makePod(`web-${i}`, {
      labels: { app: "web" },
      spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "web" } }, topologyKey: "kubernetes.io/hostname" }] } } },
    });
  const r = new Harness().addNodes(...nodes(3)).schedule([0, 1, 2, 3].map(replica));
  expect(new Set(r.placements.values()).size).toBe(3);
  expect(r.failures.get("default/web-3")).toBe("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.");
});

test("host ports keep two copies off one node", () => {
  const withPort = (name: string) => makePod(name, { spec: { containers: [{ name: "c", image: "x", ports: [{ containerPort: 80, hostPort: 80 }] }] } });
  const r = new Harness().addNodes(...nodes(2)).schedule([withPort("a"), withPort("b"), withPort("c")]);
  expect(Harness.nodesUsed(r)).toBe(2);
  expect(r.failures.get("default/c")).toBe("0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.");
});

test("bin-packing fills partly used nodes before empty ones", () => {
  const h = new Harness().addNodes(...nodes(3));
  h.addPods({ ...makePod("old", { cpu: "2" }), spec: { ...makePod("old", { cpu: "2" }).spec!, nodeName: "node-02" } });
  const r = h.schedule(pods(2, { cpu: "1" }));
  expect([...r.placements.values()]).toEqual(["node-02", "node-02"]);
});
