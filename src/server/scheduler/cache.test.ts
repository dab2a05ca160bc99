import { expect, test } from "bun:test";
import type { Pod } from "../../api/resources/core/pod";
import { SchedulerCache } from "./cache";
import { makeNode, makePod } from "./harness";
import { buildNodeInfo } from "./nodeinfo";
import { buildPodInfo } from "./podinfo";

const bound = (pod: Pod, nodeName: string, phase?: string): Pod => ({ ...pod, spec: { ...pod.spec!, nodeName }, status: phase ? { phase } : undefined });

test("bound pods count against their node; pods may arrive before their node", () => {
  const c = new SchedulerCache();
  c.setPod(bound(makePod("a", { cpu: "1" }), "n1"));
  c.setNode(makeNode("n1"));
  expect(c.node("n1")!.requested.cpu).toBe(1000);
  c.setNode(makeNode("n1", { labels: { x: "y" } }));
  expect(c.node("n1")!.requested.cpu).toBe(1000);
});

test("an assumption counts at once, is confirmed by the bound update, and forget is then a no-op", () => {
  const c = new SchedulerCache();
  c.setNode(makeNode("n1"));
  const pod = makePod("a", { cpu: "1" });
  c.assume(buildPodInfo(pod), "n1");
  expect(c.isAssumed("default/a")).toBe(true);
  expect(c.node("n1")!.requested.cpu).toBe(1000);
  c.setPod(pod); // an unbound update (e.g. a status patch) while the bind is in flight keeps it
  expect(c.node("n1")!.requested.cpu).toBe(1000);
  c.setPod(bound(pod, "n1"));
  expect(c.isAssumed("default/a")).toBe(false);
  c.forget("default/a");
  expect(c.node("n1")!.requested.cpu).toBe(1000);
});

test("forgetting an assumption gives the resources back", () => {
  const c = new SchedulerCache();
  c.setNode(makeNode("n1"));
  c.assume(buildPodInfo(makePod("a", { cpu: "1" })), "n1");
  c.forget("default/a");
  expect(c.node("n1")!.requested.cpu).toBe(0);
  expect(c.node("n1")!.pods).toHaveLength(0);
});

test("a pod bound elsewhere than assumed moves to where it really is", () => {
  const c = new SchedulerCache();
  c.setNode(makeNode("n1"));
  c.setNode(makeNode("n2"));
  const pod = makePod("a", { cpu: "1" });
  c.assume(buildPodInfo(pod), "n1");
  c.setPod(bound(pod, "n2"));
  expect(c.node("n1")!.requested.cpu).toBe(0);
  expect(c.node("n2")!.requested.cpu).toBe(1000);
});

test("finished and deleted pods free their node", () => {
  const c = new SchedulerCache();
  c.setNode(makeNode("n1"));
  c.setPod(bound(makePod("a", { cpu: "1" }), "n1"));
  c.setPod(bound(makePod("b", { cpu: "1" }), "n1"));
  c.setPod(bound(makePod("a", { cpu: "1" }), "n1", "Succeeded"));
  c.removePod("default/b");
  expect(c.node("n1")!.requested.cpu).toBe(0);
});

test("a snapshot does not change when the cache does", () => {
  const c = new SchedulerCache();
  c.setNode(makeNode("n1"));
  const before = c.snapshot();
  c.assume(buildPodInfo(makePod("a", { cpu: "1" })), "n1");
  expect(before[0].requested.cpu).toBe(0);
  expect(c.snapshot()[0].requested.cpu).toBe(1000);
});

test("incremental accounting matches a rebuild from the remaining pods, ports and anti-affinity included", () => {
  const c = new SchedulerCache();
  c.setNode(makeNode("n1"));
  const withPort = (name: string, port: number): Pod => {
    const p = makePod(name, { cpu: "100m", memory: "64Mi" });
    return { ...p, spec: { ...p.spec!, containers: [{ ...p.spec!.containers![0]!, ports: [{ containerPort: 80, hostPort: port }] }] } };
  };
  const pods = [bound(makePod("a", { cpu: "250m" }), "n1"), bound(withPort("b", 8080), "n1"), bound(makePod("c", { memory: "1Gi" }), "n1"), bound(withPort("d", 9090), "n1")];
  for (const p of pods) c.setPod(p);
  c.removePod("default/b");
  c.setPod(bound(makePod("c", { memory: "1Gi" }), "n1", "Failed"));
  const rebuilt = buildNodeInfo(makeNode("n1"), [pods[0]!, pods[3]!].map(buildPodInfo));
  const n = c.node("n1")!;
  expect(n.requested).toEqual({ ...rebuilt.requested, scalar: n.requested.scalar });
  expect([n.scoreCpu, n.scoreMemory]).toEqual([rebuilt.scoreCpu, rebuilt.scoreMemory]);
  expect(n.usedPorts).toEqual(rebuilt.usedPorts);
  expect(n.pods.map((p) => p.key)).toEqual(["default/a", "default/d"]);
});

test("an update that changes nothing counted (bind confirmation, Running) leaves the node record alone; a label change does not", () => {
  const c = new SchedulerCache();
  c.setNode(makeNode("n1"));
  const pod = makePod("a", { cpu: "1" });
  c.assume(buildPodInfo(pod), "n1");
  const assumed = c.node("n1")!;
  c.setPod(bound(pod, "n1"));
  expect(c.isAssumed("default/a")).toBe(false);
  expect(c.node("n1")).toBe(assumed);
  c.setPod(bound(pod, "n1", "Running"));
  expect(c.node("n1")).toBe(assumed);
  const relabelled = bound({ ...pod, metadata: { ...pod.metadata, labels: { tier: "web" } } }, "n1", "Running");
  c.setPod(relabelled);
  expect(c.node("n1")).not.toBe(assumed);
  expect(c.node("n1")!.pods[0]!.labels).toEqual({ tier: "web" });
  expect(c.node("n1")!.requested.cpu).toBe(1000);
});
