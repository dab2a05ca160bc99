import { expect, test } from "bun:test";
import { makeNode, makePod, nodeInfo, podInfo } from "../harness";
import { nodeReady } from "./ready";

test("a Ready node passes; NotReady and Unknown nodes do not", () => {
  const pod = podInfo(makePod("p"));
  expect(nodeReady.filter(pod, nodeInfo(makeNode("a")))).toBeUndefined();
  expect(nodeReady.filter(pod, nodeInfo(makeNode("b", { ready: "False" })))).toEqual(["node(s) were not ready"]);
  expect(nodeReady.filter(pod, nodeInfo(makeNode("c", { ready: "Unknown" })))).toEqual(["node(s) were not ready"]);
});

test("a node without a Ready condition counts as not ready", () => {
  const node = makeNode("a");
  node.status!.conditions = [];
  expect(nodeReady.filter(podInfo(makePod("p")), nodeInfo(node))).toEqual(["node(s) were not ready"]);
});

test("a pod tolerating the matching lifecycle taint may go to a node that is not ready", () => {
  const notReady = podInfo(makePod("p", { spec: { tolerations: [{ key: "node.kubernetes.io/not-ready", operator: "Exists" }] } }));
  expect(nodeReady.filter(notReady, nodeInfo(makeNode("b", { ready: "False" })))).toBeUndefined();
  expect(nodeReady.filter(notReady, nodeInfo(makeNode("c", { ready: "Unknown" })))).toEqual(["node(s) were not ready"]);
  const everything = podInfo(makePod("q", { spec: { tolerations: [{ operator: "Exists" }] } }));
  expect(nodeReady.filter(everything, nodeInfo(makeNode("c", { ready: "Unknown" })))).toBeUndefined();
});
