import { expect, test } from "bun:test";
import type { Pod } from "../../../api/resources/core/pod";
import { makeNode, makePod, nodeInfo, podInfo } from "../harness";
import { excessImbalance, mostAllocated } from "./binpack";

const on = (p: Pod): Pod => ({ ...p, spec: { ...p.spec!, nodeName: "x" } });

test("the fuller node scores higher, counting the incoming pod", () => {
  const pod = podInfo(makePod("p", { cpu: "1", memory: "2Gi" }));
  const empty = nodeInfo(makeNode("a", { cpu: "4", memory: "8Gi" }));
  const half = nodeInfo(makeNode("b", { cpu: "4", memory: "8Gi" }), [on(makePod("x", { cpu: "2", memory: "4Gi" }))]);
  expect(mostAllocated.score(pod, empty)).toBeCloseTo(25);
  expect(mostAllocated.score(pod, half)).toBeCloseTo(75);
});

test("cpu and memory weigh the same", () => {
  const node = nodeInfo(makeNode("a", { cpu: "4", memory: "8Gi" }));
  expect(mostAllocated.score(podInfo(makePod("p", { cpu: "4", memory: "1Mi" })), node)).toBeCloseTo(50, 0);
});

test("pods without requests count upstream's non-zero defaults (100m, 200Mi)", () => {
  const node = nodeInfo(makeNode("a", { cpu: "1", memory: "2000Mi" }));
  expect(mostAllocated.score(podInfo(makePod("p")), node)).toBeCloseTo(10);
});

test("overshoot from default requests is capped at 100", () => {
  const node = nodeInfo(makeNode("a", { cpu: "50m", memory: "100Mi" }));
  expect(mostAllocated.score(podInfo(makePod("p")), node)).toBe(100);
});

test("a placement leaving a node lopsided beyond the pod's own shape is penalized; identical pods still pack", () => {
  const cpuHeavyNode = nodeInfo(makeNode("a", { cpu: "4", memory: "8Gi" }), [on(makePod("x", { cpu: "2", memory: "512Mi" }))]);
  const memHeavyNode = nodeInfo(makeNode("b", { cpu: "4", memory: "8Gi" }), [on(makePod("y", { cpu: "250m", memory: "4Gi" }))]);
  // A memory-heavy pod complements the cpu-heavy node and worsens the memory-heavy one.
  const memPod = podInfo(makePod("p", { cpu: "250m", memory: "3Gi" }));
  expect(excessImbalance(memPod, cpuHeavyNode)).toBe(0);
  expect(excessImbalance(memPod, memHeavyNode)).toBeGreaterThan(0);
  expect(mostAllocated.score(memPod, cpuHeavyNode)).toBeGreaterThan(mostAllocated.score(memPod, memHeavyNode));
  // A node holding pods of the same shape is never penalized, however lopsided the shape.
  const cpuPod = podInfo(makePod("q", { cpu: "1", memory: "64Mi" }));
  const same = nodeInfo(makeNode("c"), [on(makePod("z", { cpu: "1", memory: "64Mi" }))]);
  expect(excessImbalance(cpuPod, same)).toBeCloseTo(0, 9);
});
