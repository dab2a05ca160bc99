import { expect, test } from "bun:test";
import { makeNode, makePod, nodeInfo, podInfo } from "../harness";
import { taintPreference } from "./taint-preference";

const soft = nodeInfo(makeNode("a", { taints: [{ key: "spot", effect: "PreferNoSchedule" }, { key: "old", effect: "PreferNoSchedule" }] }));
const clean = nodeInfo(makeNode("b"));

test("each untolerated PreferNoSchedule taint counts against the node", () => {
  expect(taintPreference.score(podInfo(makePod("p")), soft)).toBe(2);
  expect(taintPreference.score(podInfo(makePod("p")), clean)).toBe(0);
  const tolerant = podInfo(makePod("p", { spec: { tolerations: [{ key: "spot", operator: "Exists" }] } }));
  expect(taintPreference.score(tolerant, soft)).toBe(1);
});

test("tolerations for another effect do not help", () => {
  const pod = podInfo(makePod("p", { spec: { tolerations: [{ key: "spot", operator: "Exists", effect: "NoSchedule" }] } }));
  expect(taintPreference.score(pod, soft)).toBe(2);
});

test("normalized in reverse: no such taints is 100, the most is 0", () => {
  const s = Float64Array.from([2, 0, 1]);
  taintPreference.normalize!(s, 3);
  expect([...s]).toEqual([0, 100, 50]);
  const none = Float64Array.from([0, 0]);
  taintPreference.normalize!(none, 2);
  expect([...none]).toEqual([100, 100]);
});
