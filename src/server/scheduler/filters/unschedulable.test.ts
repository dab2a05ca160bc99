import { expect, test } from "bun:test";
import { makeNode, makePod, nodeInfo, podInfo } from "../harness";
import { nodeUnschedulable } from "./unschedulable";

test("a cordoned node rejects pods with upstream's reason", () => {
  expect(nodeUnschedulable.filter(podInfo(makePod("p")), nodeInfo(makeNode("a", { unschedulable: true })))).toEqual(["node(s) were unschedulable"]);
  expect(nodeUnschedulable.filter(podInfo(makePod("p")), nodeInfo(makeNode("a")))).toBeUndefined();
});

test("a pod tolerating the unschedulable taint may still go there", () => {
  const pod = podInfo(makePod("p", { spec: { tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }] } }));
  expect(nodeUnschedulable.filter(pod, nodeInfo(makeNode("a", { unschedulable: true })))).toBeUndefined();
});
