import { expect, test } from "bun:test";
import type { Pod } from "../../../api/resources/core/pod";
import { makeNode, makePod, nodeInfo, podInfo } from "../harness";
import { leastAllocated } from "./spread";

test("the emptier node scores higher", () => {
  const pod = podInfo(makePod("p", { cpu: "1", memory: "2Gi" }));
  const busy: Pod = { ...makePod("x", { cpu: "2", memory: "4Gi" }), spec: { ...makePod("x", { cpu: "2", memory: "4Gi" }).spec!, nodeName: "b" } };
  expect(leastAllocated.score(pod, nodeInfo(makeNode("a")))).toBeCloseTo(75);
  expect(leastAllocated.score(pod, nodeInfo(makeNode("b"), [busy]))).toBeCloseTo(25);
});
