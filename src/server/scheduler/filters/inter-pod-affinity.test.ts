import { expect, test } from "bun:test";
import type { Pod } from "../../../api/resources/core/pod";
import { Harness, makeNode, makePod, nodeInfo, podInfo } from "../harness";
import { NO_NAMESPACE_LABELS } from "../pipeline";
import { SKIP, type NodeInfo } from "../types";
import { interPodAffinity, prepareAffinity } from "./inter-pod-affinity";

const ZONE = "topology.kubernetes.io/zone";
type Term = Record<string, unknown>;
const term = (app: string, topologyKey = "kubernetes.io/hostname", extra: Term = {}): Term => ({ labelSelector: { matchLabels: { app } }, topologyKey, ...extra });
const withAnti = (name: string, labels: Record<string, string>, ...terms: Term[]): Pod =>
  makePod(name, { labels, spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: terms as any } } } });
const withAffinity = (name: string, labels: Record<string, string>, ...terms: Term[]): Pod =>
  makePod(name, { labels, spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: terms as any } } } });
const on = (pod: Pod, node: string): Pod => ({ ...pod, spec: { ...pod.spec!, nodeName: node } });

/** Runs the filter on one node of a cluster, as the pipeline does (prepare over all nodes first). */
function judge(pod: Pod, nodes: NodeInfo[], target: string, ctx = NO_NAMESPACE_LABELS) {
  const info = podInfo(pod);
  const state = prepareAffinity(info, nodes, ctx);
  if (state === SKIP) return "skipped";
  return interPodAffinity.filter(info, nodes.find((n) => n.name === target)!, state) ?? "fits";
}

test("own anti-affinity on the hostname refuses a node running a selected pod", () => {
  const nodes = [nodeInfo(makeNode("a"), [on(makePod("web-1", { labels: { app: "web" } }), "a")]), nodeInfo(makeNode("b"))];
  expect(judge(withAnti("web-2", { app: "web" }, term("web")), nodes, "a")).toEqual(["node(s) didn't match pod anti-affinity rules"]);
  expect(judge(withAnti("web-2", { app: "web" }, term("web")), nodes, "b")).toBe("fits");
  expect(judge(withAnti("db-1", { app: "db" }, term("db")), nodes, "a")).toBe("fits");
});

test("anti-affinity on a zone keeps the whole zone free of selected pods", () => {
  const nodes = [
    nodeInfo(makeNode("a1", { labels: { [ZONE]: "a" } }), [on(makePod("web-1", { labels: { app: "web" } }), "a1")]),
    nodeInfo(makeNode("a2", { labels: { [ZONE]: "a" } })),
    nodeInfo(makeNode("b1", { labels: { [ZONE]: "b" } })),
    nodeInfo(makeNode("none")),
  ];
  const pod = withAnti("web-2", { app: "web" }, term("web", ZONE));
  expect(judge(pod, nodes, "a2")).toEqual(["node(s) didn't match pod anti-affinity rules"]);
  expect(judge(pod, nodes, "b1")).toBe("fits");
  expect(judge(pod, nodes, "none")).toBe("fits"); // no zone label: no domain to clash in
});

test("existing pods' anti-affinity keeps matching pods out of their domain (symmetry)", () => {
  const nodes = [nodeInfo(makeNode("a1", { labels: { [ZONE]: "a" } }), [on(withAnti("web-1", { app: "web" }, term("web", ZONE)), "a1")]), nodeInfo(makeNode("a2", { labels: { [ZONE]: "a" } })), nodeInfo(makeNode("b1", { labels: { [ZONE]: "b" } }))];
  expect(judge(makePod("web-2", { labels: { app: "web" } }), nodes, "a2")).toEqual(["node(s) didn't satisfy existing pods anti-affinity rules"]);
  expect(judge(makePod("web-2", { labels: { app: "web" } }), nodes, "b1")).toBe("fits");
  expect(judge(makePod("other", { labels: { app: "db" } }), nodes, "a2")).toBe("skipped"); // no term selects it: nothing to check
});

test("a pod without terms in a cluster without anti-affinity skips the filter (the fast path)", () => {
  const nodes = [nodeInfo(makeNode("a"), [on(makePod("x", { labels: { app: "web" } }), "a")])];
  expect(judge(makePod("plain", { labels: { app: "web" } }), nodes, "a")).toBe("skipped");
});

test("required affinity puts the pod in a domain of a matching pod; the first of a group goes anywhere", () => {
  const zoned = (name: string, zone: string, pods: Pod[] = []) => nodeInfo(makeNode(name, { labels: { [ZONE]: zone } }), pods.map((p) => on(p, name)));
  const nodes = [zoned("a1", "a", [makePod("cache", { labels: { app: "cache" } })]), zoned("a2", "a"), zoned("b1", "b"), nodeInfo(makeNode("bare"))];
  const pod = withAffinity("web", { app: "web" }, term("cache", ZONE));
  expect(judge(pod, nodes, "a2")).toBe("fits");
  expect(judge(pod, nodes, "b1")).toEqual(["node(s) didn't match pod affinity rules"]);
  expect(judge(pod, nodes, "bare")).toEqual(["node(s) didn't match pod affinity rules"]);
  // No pod matches anywhere, but the pod matches its own term: it may start the group.
  const first = withAffinity("web-1", { app: "web" }, term("web", ZONE));
  expect(judge(first, nodes, "b1")).toBe("fits");
  expect(judge(first, nodes, "bare")).toEqual(["node(s) didn't match pod affinity rules"]);
  // ... but not if it does not match its own term.
  expect(judge(withAffinity("lonely", { app: "x" }, term("web", ZONE)), nodes, "b1")).toEqual(["node(s) didn't match pod affinity rules"]);
});

test("namespaces: the pod's own by default, listed ones, or those a namespaceSelector picks", () => {
  const nodes = [nodeInfo(makeNode("a"), [on(makePod("web-1", { namespace: "prod", labels: { app: "web" } }), "a")])];
  const anti = (extra: Term) => withAnti("web-2", { app: "web" }, term("web", undefined, extra));
  expect(judge(anti({}), nodes, "a")).toBe("fits");
  expect(judge(anti({ namespaces: ["prod"] }), nodes, "a")).not.toBe("fits");
  expect(judge(anti({ namespaceSelector: {} }), nodes, "a")).not.toBe("fits");
  const labels = new Map([["prod", { env: "prod" }]]);
  const ctx = { namespaceLabels: (ns: string) => labels.get(ns) };
  expect(judge(anti({ namespaceSelector: { matchLabels: { env: "prod" } } }), nodes, "a", ctx)).not.toBe("fits");
  expect(judge(anti({ namespaceSelector: { matchLabels: { env: "dev" } } }), nodes, "a", ctx)).toBe("fits");
});

test("matchLabelKeys and mismatchLabelKeys narrow the selector by the pod's own label values", () => {
  const nodes = [nodeInfo(makeNode("a"), [on(makePod("v1", { labels: { app: "web", rev: "1" } }), "a")])];
  const anti = (rev: string, extra: Term) => withAnti(`web-${rev}`, { app: "web", rev }, term("web", undefined, extra));
  expect(judge(anti("2", { matchLabelKeys: ["rev"] }), nodes, "a")).toBe("fits");
  expect(judge(anti("1", { matchLabelKeys: ["rev"] }), nodes, "a")).not.toBe("fits");
  expect(judge(anti("1", { mismatchLabelKeys: ["rev"] }), nodes, "a")).toBe("fits");
});

test("through the pipeline: zone anti-affinity replicas take one zone each", () => {
  const zones = ["a", "a", "b", "b", "c"].map((z, i) => makeNode(`n${i}`, { labels: { [ZONE]: z } }));
  const replicas = [0, 1, 2, 3].map((i) => withAnti(`web-${i}`, { app: "web" }, term("web", ZONE)));
  const h = new Harness().addNodes(...zones);
  const r = h.schedule(replicas);
  const zoneOf = (node: string) => zones.find((n) => n.metadata.name === node)!.metadata.labels![ZONE];
  expect(new Set([...r.placements.values()].map(zoneOf)).size).toBe(3);
  expect(r.failures.get("default/web-3")).toBe("0/5 nodes are available: 5 node(s) didn't match pod anti-affinity rules.");
});
