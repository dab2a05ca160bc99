import { expect, test } from "bun:test";
import type { Pod } from "../../../api/resources/core/pod";
import { makeNode, makePod, nodeInfo, podInfo } from "../harness";
import { podAntiAffinity } from "./anti-affinity";

const antiTo = (name: string, app: string, topologyKey = "kubernetes.io/hostname", extra: object = {}): Pod =>
  makePod(name, {
    labels: { app },
    spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app } }, topologyKey, ...extra }] } } },
  });
const on = (pod: Pod): Pod => ({ ...pod, spec: { ...pod.spec!, nodeName: "a" } });

test("a pod refuses a node running a pod its anti-affinity selects", () => {
  const node = nodeInfo(makeNode("a"), [on(makePod("web-1", { labels: { app: "web" } }))]);
  expect(podAntiAffinity.filter(podInfo(antiTo("web-2", "web")), node)).toEqual(["node(s) didn't match pod anti-affinity rules"]);
  expect(podAntiAffinity.filter(podInfo(antiTo("db-1", "db")), node)).toBeUndefined();
});

test("existing pods' anti-affinity keeps matching pods away (symmetry)", () => {
  const node = nodeInfo(makeNode("a"), [on(antiTo("web-1", "web"))]);
  expect(podAntiAffinity.filter(podInfo(makePod("web-2", { labels: { app: "web" } })), node)).toEqual(["node(s) didn't satisfy existing pods anti-affinity rules"]);
  expect(podAntiAffinity.filter(podInfo(makePod("other", { labels: { app: "db" } })), node)).toBeUndefined();
});

test("terms look at the pod's own namespace unless namespaces are listed", () => {
  const node = nodeInfo(makeNode("a"), [on(makePod("web-1", { namespace: "prod", labels: { app: "web" } }))]);
  expect(podAntiAffinity.filter(podInfo(antiTo("web-2", "web")), node)).toBeUndefined();
  expect(podAntiAffinity.filter(podInfo(antiTo("web-2", "web", undefined, { namespaces: ["prod"] })), node)).toBeDefined();
  expect(podAntiAffinity.filter(podInfo(antiTo("web-2", "web", undefined, { namespaceSelector: {} })), node)).toBeDefined();
});

test("terms on other topology keys are not enforced", () => {
  const node = nodeInfo(makeNode("a"), [on(makePod("web-1", { labels: { app: "web" } }))]);
  expect(podAntiAffinity.filter(podInfo(antiTo("web-2", "web", "topology.kubernetes.io/zone")), node)).toBeUndefined();
});
