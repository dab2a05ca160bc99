import { expect, test } from "bun:test";
import { makeNode, makePod, nodeInfo, podInfo } from "../harness";
import { resourcesFit } from "./resources-fit";

const bound = (name: string, cpu: string, memory: string) => {
  const p = makePod(name, { cpu, memory });
  p.spec!.nodeName = "a";
  return p;
};

test("requests fit allocatable minus what the node's pods request", () => {
  const node = nodeInfo(makeNode("a", { cpu: "2", memory: "4Gi" }), [bound("x", "1500m", "1Gi")]);
  expect(resourcesFit.filter(podInfo(makePod("p", { cpu: "500m", memory: "3Gi" })), node)).toBeUndefined();
  expect(resourcesFit.filter(podInfo(makePod("p", { cpu: "501m" })), node)).toEqual(["Insufficient cpu"]);
  expect(resourcesFit.filter(podInfo(makePod("p", { cpu: "1", memory: "4Gi" })), node)).toEqual(["Insufficient cpu", "Insufficient memory"]);
});

test("the pod count limit applies to every pod, even one that requests nothing", () => {
  const node = nodeInfo(makeNode("a", { pods: "1" }), [bound("x", "1m", "1Mi")]);
  expect(resourcesFit.filter(podInfo(makePod("p")), node)).toEqual(["Too many pods"]);
});

test("extended resources must be offered by the node", () => {
  const gpu = podInfo(makePod("p", { extra: { "example.com/gpu": "1" } }));
  expect(resourcesFit.filter(gpu, nodeInfo(makeNode("a")))).toEqual(["Insufficient example.com/gpu"]);
  expect(resourcesFit.filter(gpu, nodeInfo(makeNode("b", { extra: { "example.com/gpu": "2" } })))).toBeUndefined();
});

test("a node with no allocatable takes no pods that request resources", () => {
  const node = makeNode("a");
  node.status!.allocatable = {};
  expect(resourcesFit.filter(podInfo(makePod("p", { cpu: "1m" })), nodeInfo(node))).toEqual(["Too many pods", "Insufficient cpu"]);
});
