import { expect, test } from "bun:test";
import { makeNode, makePod } from "./harness";
import { nodeAllocatable, podRequests } from "./resources";

const GI = 1024 ** 3;

test("a pod requests the sum of its containers", () => {
  const pod = makePod("p");
  pod.spec!.containers = [
    { name: "a", image: "x", resources: { requests: { cpu: "250m", memory: "1Gi" } } },
    { name: "b", image: "x", resources: { requests: { cpu: "0.5", memory: "512Mi" } } },
  ];
  expect(podRequests(pod)).toEqual({ cpu: 750, memory: 1.5 * GI, pods: 1, scalar: {} });
});

test("the largest init container wins when it exceeds the app containers; overhead is added", () => {
  const pod = makePod("p", { cpu: "100m", memory: "100Mi" });
  pod.spec!.initContainers = [
    { name: "i1", image: "x", resources: { requests: { cpu: "2" } } },
    { name: "i2", image: "x", resources: { requests: { memory: "50Mi" } } },
  ];
  pod.spec!.overhead = { cpu: "10m" };
  expect(podRequests(pod)).toMatchObject({ cpu: 2010, memory: 100 * 1024 * 1024 });
});

test("sidecar init containers (restartPolicy Always) add to the sum and to later init peaks", () => {
  const pod = makePod("p", { cpu: "100m" });
  pod.spec!.initContainers = [
    { name: "proxy", image: "x", restartPolicy: "Always", resources: { requests: { cpu: "200m" } } } as never,
    { name: "migrate", image: "x", resources: { requests: { cpu: "250m" } } },
  ];
  // app 100 + sidecar 200 = 300; init peak = 250 + 200 = 450
  expect(podRequests(pod).cpu).toBe(450);
});

test("extended resources are counted as scalars; node allocatable parses the same way", () => {
  expect(podRequests(makePod("p", { extra: { "example.com/gpu": "2" } })).scalar).toEqual({ "example.com/gpu": 2 });
  expect(nodeAllocatable(makeNode("n", { cpu: "4", memory: "8Gi", pods: "110" }))).toEqual({ cpu: 4000, memory: 8 * GI, pods: 110, scalar: {} });
});
