import { expect, test } from "bun:test";
import { makeNode, makePod, nodeInfo, podInfo } from "../harness";
import { preferredNodeAffinity } from "./preferred-affinity";

const pod = podInfo(
  makePod("p", {
    spec: {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 10, preference: { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] } },
            { weight: 30, preference: { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] } },
          ],
        },
      },
    },
  }),
);

test("a node earns the weights of the preferences it matches", () => {
  expect(preferredNodeAffinity.score(pod, nodeInfo(makeNode("a", { labels: { disk: "ssd", zone: "a" } })))).toBe(40);
  expect(preferredNodeAffinity.score(pod, nodeInfo(makeNode("b", { labels: { zone: "a" } })))).toBe(30);
  expect(preferredNodeAffinity.score(pod, nodeInfo(makeNode("c")))).toBe(0);
});

test("scores normalize so the best node gets 100", () => {
  const s = Float64Array.from([40, 30, 0]);
  preferredNodeAffinity.normalize!(s, 3);
  expect([...s]).toEqual([100, 75, 0]);
});

test("pods without preferences skip the score", () => {
  expect(preferredNodeAffinity.applies!(podInfo(makePod("q")))).toBe(false);
});
