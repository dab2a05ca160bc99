import { expect, test } from "bun:test";
import type { Pod } from "../../../api/resources/core/pod";
import { Harness, makeNode, makePod } from "../harness";

const ZONE = "topology.kubernetes.io/zone";
const soft = (name: string, topologyKey = ZONE): Pod =>
  makePod(name, {
    labels: { app: "web" },
    cpu: "100m",
    spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { app: "web" } } }] },
  });

test("ScheduleAnyway prefers the zone with fewer matching pods over bin-packing", () => {
  const h = new Harness("binpack").addNodes(makeNode("a1", { labels: { [ZONE]: "a" } }), makeNode("b1", { labels: { [ZONE]: "b" } }));
  h.addPods(makePod("w1", { labels: { app: "web" }, cpu: "1", nodeName: "a1" }));
  expect(h.schedule([soft("new")]).placements.get("default/new")).toBe("b1");
});

test("ScheduleAnyway never refuses: with one zone full of matches the pod still lands", () => {
  const h = new Harness("binpack").addNodes(makeNode("a1", { labels: { [ZONE]: "a" } }));
  h.addPods(makePod("w1", { labels: { app: "web" }, nodeName: "a1" }), makePod("w2", { labels: { app: "web" }, nodeName: "a1" }));
  expect(h.schedule([soft("new")]).placements.get("default/new")).toBe("a1");
});

test("on the hostname key pods spread one per node; nodes without the label rank last", () => {
  const h = new Harness("binpack").addNodes(makeNode("a"), makeNode("b"), makeNode("c"));
  const r = h.schedule([0, 1, 2].map((i) => soft(`web-${i}`, "kubernetes.io/hostname")));
  expect(Harness.nodesUsed(r)).toBe(3);
  const unlabeled = new Harness("spread").addNodes(makeNode("a1", { labels: { [ZONE]: "a" } }), makeNode("bare"));
  unlabeled.addPods(makePod("w1", { labels: { app: "web" }, nodeName: "a1" }));
  expect(unlabeled.schedule([soft("new")]).placements.get("default/new")).toBe("a1");
});
