import { expect, test } from "bun:test";
import type { Affinity } from "../../../api/resources/core/podspec.schema";
import { makeNode, makePod, nodeInfo, podInfo } from "../harness";
import type { NodeSelectorTerm } from "../types";
import { nodeAffinity } from "./node-affinity";

const MISMATCH = ["node(s) didn't match Pod's node affinity/selector"];
const node = nodeInfo(makeNode("n1", { labels: { disk: "ssd", zone: "a", cores: "8" } }));
const requiring = (...nodeSelectorTerms: NodeSelectorTerm[]) => {
  const affinity: Affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms } } };
  return podInfo(makePod("p", { spec: { affinity } }));
};
const expr = (key: string, operator: string, values?: string[]): NodeSelectorTerm => ({ matchExpressions: [{ key, operator, values }] });

test("nodeSelector needs every label equal", () => {
  expect(nodeAffinity.filter(podInfo(makePod("p", { spec: { nodeSelector: { disk: "ssd" } } })), node)).toBeUndefined();
  expect(nodeAffinity.filter(podInfo(makePod("p", { spec: { nodeSelector: { disk: "ssd", zone: "b" } } })), node)).toEqual(MISMATCH);
  expect(nodeAffinity.filter(podInfo(makePod("p", { spec: { nodeSelector: { gpu: "" } } })), node)).toEqual(MISMATCH);
});

test("a pod without selector or affinity does not run the filter", () => {
  expect(nodeAffinity.applies!(podInfo(makePod("p")))).toBe(false);
  expect(nodeAffinity.applies!(requiring(expr("disk", "Exists")))).toBe(true);
});

test("each operator", () => {
  const cases: [NodeSelectorTerm, boolean][] = [
    [expr("disk", "In", ["ssd", "nvme"]), true],
    [expr("disk", "In", ["hdd"]), false],
    [expr("disk", "NotIn", ["hdd"]), true],
    [expr("disk", "NotIn", ["ssd"]), false],
    [expr("gpu", "NotIn", ["x"]), true],
    [expr("disk", "Exists"), true],
    [expr("gpu", "Exists"), false],
    [expr("gpu", "DoesNotExist"), true],
    [expr("disk", "DoesNotExist"), false],
    [expr("cores", "Gt", ["4"]), true],
    [expr("cores", "Gt", ["8"]), false],
    [expr("cores", "Lt", ["16"]), true],
    [expr("cores", "Lt", ["8"]), false],
    [expr("disk", "Gt", ["1"]), false], // not an integer: never matches
    [expr("cores", "Bogus", ["1"]), false],
  ];
  for (const [term, ok] of cases) expect([term, nodeAffinity.filter(requiring(term), node)]).toEqual([term, ok ? undefined : MISMATCH]);
});

test("terms are ORed, expressions within a term ANDed; empty terms match nothing", () => {
  expect(nodeAffinity.filter(requiring(expr("gpu", "Exists"), expr("disk", "In", ["ssd"])), node)).toBeUndefined();
  expect(nodeAffinity.filter(requiring({ matchExpressions: [{ key: "disk", operator: "Exists" }, { key: "gpu", operator: "Exists" }] }), node)).toEqual(MISMATCH);
  expect(nodeAffinity.filter(requiring({}), node)).toEqual(MISMATCH);
  expect(nodeAffinity.filter(requiring(), node)).toEqual(MISMATCH);
});

test("matchFields selects by metadata.name", () => {
  expect(nodeAffinity.filter(requiring({ matchFields: [{ key: "metadata.name", operator: "In", values: ["n1"] }] }), node)).toBeUndefined();
  expect(nodeAffinity.filter(requiring({ matchFields: [{ key: "metadata.name", operator: "In", values: ["n2"] }] }), node)).toEqual(MISMATCH);
  expect(nodeAffinity.filter(requiring({ matchFields: [{ key: "metadata.name", operator: "NotIn", values: ["n2"] }] }), node)).toBeUndefined();
  expect(nodeAffinity.filter(requiring({ matchFields: [{ key: "metadata.uid", operator: "In", values: ["n1"] }] }), node)).toEqual(MISMATCH);
});

test("nodeSelector and affinity must both hold", () => {
  const pod = podInfo(
    makePod("p", { spec: { nodeSelector: { zone: "b" }, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [expr("disk", "Exists")] } } } } }),
  );
  expect(nodeAffinity.filter(pod, node)).toEqual(MISMATCH);
});
