import { expect, test } from "bun:test";
import type { Toleration } from "../../../api/resources/core/podspec.schema";
import { makeNode, makePod, nodeInfo, podInfo } from "../harness";
import { taintToleration } from "./taints";

const tainted = nodeInfo(makeNode("a", { taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] }));
const withTolerations = (tolerations: Toleration[]) => podInfo(makePod("p", { spec: { tolerations } }));

test("an untolerated NoSchedule taint rejects the node and is named in the reason", () => {
  expect(taintToleration.filter(withTolerations([]), tainted)).toEqual(["node(s) had untolerated taint {dedicated: db}"]);
});

test("NoExecute filters too; PreferNoSchedule does not", () => {
  const noExec = nodeInfo(makeNode("a", { taints: [{ key: "k", effect: "NoExecute" }] }));
  expect(taintToleration.filter(withTolerations([]), noExec)).toEqual(["node(s) had untolerated taint {k: }"]);
  const prefer = nodeInfo(makeNode("a", { taints: [{ key: "k", effect: "PreferNoSchedule" }] }));
  expect(taintToleration.filter(withTolerations([]), prefer)).toBeUndefined();
});

test("toleration operators: Equal needs the value, Exists any value, empty key with Exists everything", () => {
  expect(taintToleration.filter(withTolerations([{ key: "dedicated", operator: "Equal", value: "db" }]), tainted)).toBeUndefined();
  expect(taintToleration.filter(withTolerations([{ key: "dedicated", value: "db" }]), tainted)).toBeUndefined(); // operator defaults to Equal
  expect(taintToleration.filter(withTolerations([{ key: "dedicated", operator: "Equal", value: "web" }]), tainted)).toBeDefined();
  expect(taintToleration.filter(withTolerations([{ key: "dedicated", operator: "Exists" }]), tainted)).toBeUndefined();
  expect(taintToleration.filter(withTolerations([{ operator: "Exists" }]), tainted)).toBeUndefined();
  expect(taintToleration.filter(withTolerations([{ key: "other", operator: "Exists" }]), tainted)).toBeDefined();
});

test("a toleration's effect must match the taint's when given", () => {
  expect(taintToleration.filter(withTolerations([{ key: "dedicated", operator: "Exists", effect: "NoExecute" }]), tainted)).toBeDefined();
  expect(taintToleration.filter(withTolerations([{ key: "dedicated", operator: "Exists", effect: "NoSchedule" }]), tainted)).toBeUndefined();
});
