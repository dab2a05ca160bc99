import { expect, test } from "bun:test";
import type { Pod } from "../../api/resources/pod";
import { SchedulerCache } from "./cache";
import { makeNode, makePod } from "./harness";
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
