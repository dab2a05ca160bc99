import { expect, test } from "bun:test";
import type { Pod } from "../../api/resources/core/pod";
import { Harness, makeNode, makePod, podInfo } from "./harness";
import { pickPreemption, type Preemption } from "./preemption";
import type { NodeInfo, PodInfo } from "./types";

// Nodes of 2 cpu; pods of 1 cpu: two fill a node.
const node = (name: string, labels: Record<string, string> = {}) => makeNode(name, { cpu: "2", memory: "8Gi", labels });
const running = (name: string, nodeName: string, priority: number, o: { cpu?: string; start?: string; labels?: Record<string, string> } = {}): Pod => {
  const pod = makePod(name, { cpu: o.cpu ?? "1", priority, nodeName, labels: o.labels });
  pod.status = { phase: "Running", startTime: o.start ?? "2024-01-01T00:00:00Z" };
  return pod;
};
const victimsOf = (r: ReturnType<Harness["preempt"]>) => (r?.preemption ? { node: r.preemption.node.name, victims: r.preemption.victims.map((v) => v.name) } : r);

test("a higher-priority pod evicts the fewest lower-priority pods on the best node", () => {
  const h = new Harness().addNodes(node("a"), node("b"));
  h.addPods(running("a-low", "a", 0), running("a-mid", "a", 5), running("b-mid-1", "b", 5), running("b-mid-2", "b", 5));
  // On a, evicting the priority-0 pod is enough; b would lose a priority-5 pod.
  expect(victimsOf(h.preempt(makePod("vip", { cpu: "1", priority: 10 })))).toEqual({ node: "a", victims: ["a-low"] });
});

test("lower priorities are reprieved most important first, so only what is needed goes", () => {
  const h = new Harness().addNodes(makeNode("a", { cpu: "3", memory: "8Gi" }));
  h.addPods(running("p1", "a", 1), running("p2", "a", 2), running("p3", "a", 3));
  expect(victimsOf(h.preempt(makePod("vip", { cpu: "2", priority: 10 })))).toEqual({ node: "a", victims: ["p2", "p1"] });
});

test("equal or higher priority pods are never victims; then preemption says why not", () => {
  const h = new Harness().addNodes(node("a"), makeNode("cordoned", { unschedulable: true }));
  h.addPods(running("same", "a", 10), running("higher", "a", 20));
  expect(h.preempt(makePod("vip", { cpu: "1", priority: 10 }))).toEqual({
    eligible: true,
    message: "0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
  });
});

test("preemptionPolicy Never: the pod waits instead", () => {
  const h = new Harness().addNodes(node("a"));
  h.addPods(running("low-1", "a", 0), running("low-2", "a", 0));
  const pod = makePod("vip", { cpu: "1", priority: 10, spec: { preemptionPolicy: "Never" } });
  expect(h.preempt(pod)).toEqual({ eligible: false, message: "not eligible due to preemptionPolicy=Never." });
});

test("not again while a pod it preempted is still terminating on its nominated node", () => {
  const h = new Harness().addNodes(node("a"));
  const going = running("low-1", "a", 0);
  going.metadata.deletionTimestamp = "2024-01-01T00:00:00Z";
  going.status!.conditions = [{ type: "DisruptionTarget", status: "True", reason: "PreemptionByScheduler" }];
  h.addPods(going, running("low-2", "a", 0));
  const pod = makePod("vip", { cpu: "1", priority: 10 });
  pod.status = { nominatedNodeName: "a" };
  expect(h.preempt(pod)).toEqual({ eligible: false, message: "not eligible due to a terminating pod on the nominated node." });
});

test("nodes refused for reasons eviction cannot fix are not candidates", () => {
  const h = new Harness().addNodes(node("a", { disk: "hdd" }), node("b", { disk: "ssd" }));
  h.addPods(running("low-a", "a", 0, { cpu: "2" }), running("low-b", "b", 0, { cpu: "2" }));
  const pod = makePod("vip", { cpu: "1", priority: 10, spec: { nodeSelector: { disk: "ssd" } } });
  expect(victimsOf(h.preempt(pod))).toEqual({ node: "b", victims: ["low-b"] });
});

test("anti-affinity conflicts can be preempted away", () => {
  const h = new Harness().addNodes(makeNode("a"));
  h.addPods(running("web-old", "a", 0, { cpu: "100m", labels: { app: "web" } }));
  const pod = makePod("web-vip", {
    priority: 10,
    labels: { app: "web" },
    spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "web" } }, topologyKey: "kubernetes.io/hostname" }] } } },
  });
  expect(victimsOf(h.preempt(pod))).toEqual({ node: "a", victims: ["web-old"] });
});

test("disruption budgets: protected pods are reprieved first and count against their node", () => {
  const h = new Harness().addNodes(node("a"), node("b"));
  h.addPods(running("a-1", "a", 0, { labels: { app: "db" } }), running("a-2", "a", 0, { labels: { app: "db" } }), running("b-1", "b", 1), running("b-2", "b", 1));
  const splitByBudget = (pods: readonly PodInfo[]) => ({ violating: pods.filter((p) => p.labels.app === "db"), other: pods.filter((p) => p.labels.app !== "db") });
  // Without budgets node a (priority-0 victim) wins; with the db budget, b (no violation) does.
  expect(victimsOf(h.preempt(makePod("vip", { cpu: "1", priority: 10 })))).toMatchObject({ node: "a" });
  expect(victimsOf(h.preempt(makePod("vip", { cpu: "1", priority: 10 }), { splitByBudget }))).toEqual({ node: "b", victims: ["b-2"] });
});

test("the node is picked by upstream's criteria, in order", () => {
  const pod = (name: string, priority: number, start = "2024-01-01T00:00:00Z") => podInfo(running(name, "x", priority, { start }));
  const option = (name: string, victims: PodInfo[], budgetViolations = 0): Preemption => ({ node: { name } as NodeInfo, victims, budgetViolations });
  const pick = (...o: Preemption[]) => pickPreemption(o)?.node.name;
  expect(pick(option("v", [pod("1", 1)], 1), option("w", [pod("2", 5)], 0))).toBe("w"); // fewest budget violations
  expect(pick(option("v", [pod("1", 5)]), option("w", [pod("2", 3), pod("3", 3)]))).toBe("w"); // lowest highest priority
  expect(pick(option("v", [pod("1", 3), pod("2", 3)]), option("w", [pod("3", 3), pod("4", 1)]))).toBe("w"); // smallest sum
  expect(pick(option("v", [pod("1", 3), pod("2", -5)]), option("w", [pod("3", 3)]))).toBe("w"); // sum is offset: negatives still add
  expect(pick(option("v", [pod("1", 3, "2024-01-01T00:00:00Z")]), option("w", [pod("2", 3, "2024-06-01T00:00:00Z")]))).toBe("w"); // latest start
  expect(pick(option("v", [pod("1", 3)]), option("w", []))).toBe("w"); // no victims at all
});

test("a nominated pod holds its room against less important pods, not against more important ones", () => {
  const nominated = makePod("vip", { cpu: "1", priority: 10 });
  nominated.status = { nominatedNodeName: "a" };
  const cluster = () => new Harness().addNodes(node("a")).addPods(running("low", "a", 0), nominated);
  expect(cluster().schedule([makePod("filler", { cpu: "1", priority: 5 })]).failures.has("default/filler")).toBe(true);
  expect(cluster().schedule([makePod("boss", { cpu: "1", priority: 20 })]).placements.get("default/boss")).toBe("a");
  // The nominated pod is not held against itself; once placed, its nomination ends.
  const h = cluster();
  expect(h.schedule([nominated]).placements.get("default/vip")).toBe("a");
  expect(h.cache.nominatedOn("a")).toEqual([]);
});

test("a pod bigger than a node's allocatable cannot be helped by preemption there", () => {
  const h = new Harness().addNodes(node("small"), makeNode("large", { cpu: "4", memory: "8Gi" }));
  h.addPods(running("s", "small", 0), running("l", "large", 0, { cpu: "2" }), running("l2", "large", 0, { cpu: "2" }));
  expect(victimsOf(h.preempt(makePod("vip", { cpu: "3", priority: 10 })))).toEqual({ node: "large", victims: ["l", "l2"] });
  expect(h.preempt(makePod("giant", { cpu: "5", priority: 10 }))).toEqual({ eligible: true, message: "0/2 nodes are available: 2 Preemption is not helpful for scheduling." });
});
