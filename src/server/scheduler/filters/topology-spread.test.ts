import { expect, test } from "bun:test";
import type { Pod } from "../../../api/resources/core/pod";
import { Harness, makeNode, makePod, nodeInfo, podInfo } from "../harness";
import { SKIP, type NodeInfo } from "../types";
import { prepareSpread, topologySpread } from "./topology-spread";

const ZONE = "topology.kubernetes.io/zone";
type Constraint = Record<string, unknown>;
const spread = (name: string, c: Constraint = {}, labels: Record<string, string> = { app: "web" }, spec: object = {}): Pod =>
  makePod(name, {
    labels,
    spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { app: "web" } }, ...c }] as any, ...spec },
  });
const web = (name: string, node: string, labels: Record<string, string> = { app: "web" }) => makePod(name, { labels, nodeName: node });
const zoned = (name: string, zone: string | undefined, pods: Pod[] = [], o: Parameters<typeof makeNode>[1] = {}) =>
  nodeInfo(makeNode(name, { ...o, labels: { ...(zone && { [ZONE]: zone }), ...o.labels } }), pods);

function judge(pod: Pod, nodes: NodeInfo[], target: string) {
  const info = podInfo(pod);
  const state = prepareSpread(info, nodes);
  if (state === SKIP) return "skipped";
  return topologySpread.filter(info, nodes.find((n) => n.name === target)!, state) ?? "fits";
}

test("a domain more than maxSkew above the least loaded one is refused", () => {
  const nodes = [zoned("a1", "a", [web("w1", "a1"), web("w2", "a1")]), zoned("b1", "b", [web("w3", "b1")])];
  expect(judge(spread("new"), nodes, "a1")).toEqual(["node(s) didn't match pod topology spread constraints"]);
  expect(judge(spread("new"), nodes, "b1")).toBe("fits");
  expect(judge(spread("new", { maxSkew: 2 }), nodes, "a1")).toBe("fits");
});

test("a node without the topology label is refused as unresolvable; pods without constraints skip the filter", () => {
  const nodes = [zoned("a1", "a"), zoned("bare", undefined)];
  expect(judge(spread("new"), nodes, "bare")).toEqual(["node(s) didn't match pod topology spread constraints (missing required label)"]);
  const info = podInfo(spread("new"));
  expect(topologySpread.resolvable!(topologySpread.filter(info, nodes[1]!, prepareSpread(info, nodes))!, info, nodes[1]!)).toBe(false);
  expect(judge(makePod("plain"), nodes, "a1")).toBe("skipped");
});

test("only pods of the same namespace, selected and not terminating, count", () => {
  const terminating: Pod = { ...web("old", "a1"), metadata: { ...web("old", "a1").metadata, deletionTimestamp: "2024-01-01T00:00:00Z" } };
  const elsewhere = makePod("other-ns", { namespace: "prod", labels: { app: "web" }, nodeName: "a1" });
  const nodes = [zoned("a1", "a", [terminating, elsewhere, web("db", "a1", { app: "db" })]), zoned("b1", "b")];
  expect(judge(spread("new"), nodes, "a1")).toBe("fits");
});

test("minDomains: fewer domains than asked for make the global minimum 0", () => {
  const nodes = [zoned("a1", "a", [web("w1", "a1")]), zoned("b1", "b", [web("w2", "b1")])];
  expect(judge(spread("new"), nodes, "a1")).toBe("fits");
  expect(judge(spread("new", { minDomains: 3 }), nodes, "a1")).toEqual(["node(s) didn't match pod topology spread constraints"]);
});

test("nodeAffinityPolicy Honor (default) ignores domains the pod may not use; Ignore counts them", () => {
  const nodes = [zoned("a1", "a", [web("w1", "a1")], { labels: { disk: "ssd" } }), zoned("b1", "b", [], { labels: { disk: "hdd" } })];
  const pinned = (c: Constraint) => spread("new", c, { app: "web" }, { nodeSelector: { disk: "ssd" } });
  expect(judge(pinned({}), nodes, "a1")).toBe("fits"); // zone b is not eligible: a is the only domain
  expect(judge(pinned({ nodeAffinityPolicy: "Ignore" }), nodes, "a1")).toEqual(["node(s) didn't match pod topology spread constraints"]);
});

test("nodeTaintsPolicy Honor ignores domains whose taints the pod does not tolerate; Ignore (default) counts them", () => {
  const taints = [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }];
  const nodes = [zoned("a1", "a", [web("w1", "a1")]), zoned("b1", "b", [], { taints })];
  expect(judge(spread("new"), nodes, "a1")).toEqual(["node(s) didn't match pod topology spread constraints"]);
  expect(judge(spread("new", { nodeTaintsPolicy: "Honor" }), nodes, "a1")).toBe("fits");
});

test("matchLabelKeys counts only pods sharing the pod's values of those keys", () => {
  const nodes = [zoned("a1", "a", [web("old-1", "a1", { app: "web", hash: "old" }), web("old-2", "a1", { app: "web", hash: "old" })]), zoned("b1", "b")];
  expect(judge(spread("new", { matchLabelKeys: ["hash"] }, { app: "web", hash: "new" }), nodes, "a1")).toBe("fits");
  expect(judge(spread("new", {}, { app: "web", hash: "new" }), nodes, "a1")).not.toBe("fits");
});

test("through the pipeline: six replicas over three zones end two per zone, even with bin-packing", () => {
  const zones = ["a", "a", "b", "b", "c", "c"].map((z, i) => makeNode(`n${i}`, { labels: { [ZONE]: z } }));
  const h = new Harness("binpack").addNodes(...zones);
  const r = h.schedule([0, 1, 2, 3, 4, 5].map((i) => spread(`web-${i}`, {})));
  expect(r.failures.size).toBe(0);
  const perZone = new Map<string, number>();
  for (const node of r.placements.values()) {
    const z = zones.find((n) => n.metadata.name === node)!.metadata.labels![ZONE]!;
    perZone.set(z, (perZone.get(z) ?? 0) + 1);
  }
  expect([...perZone.values()]).toEqual([2, 2, 2]);
});
