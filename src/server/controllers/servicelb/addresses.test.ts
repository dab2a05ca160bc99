import { expect, test } from "bun:test";
import type { Endpoints } from "../../../api/resources/core/endpoints";
import type { Node, Taint } from "../../../api/resources/core/node";
import type { Service } from "../../../api/resources/core/service";
import { assignPorts, ENABLE_LB_LABEL, LB_POOL_LABEL, lbRelevantNodeState, loadBalancerIPs, wantsLoadBalancer } from "./addresses";

function node(name: string, internal: string, o: { ready?: boolean; external?: string; labels?: Record<string, string>; taints?: Taint[]; unschedulable?: boolean } = {}): Node {
  return {
    metadata: { name, labels: o.labels },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: {
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
      addresses: [{ type: "InternalIP", address: internal }, ...(o.external ? [{ type: "ExternalIP", address: o.external }] : []), { type: "Hostname", address: name }],
    },
  };
}
const lb = (spec: Service["spec"] = {}, labels?: Record<string, string>): Service => ({ metadata: { name: "web", namespace: "default", labels }, spec: { type: "LoadBalancer", ports: [{ port: 80 }], ...spec } });

test("only LoadBalancer Services without a loadBalancerClass are ours", () => {
  expect(wantsLoadBalancer(lb())).toBe(true);
  expect(wantsLoadBalancer(lb({ loadBalancerClass: "metallb.io/x" }))).toBe(false);
  expect(wantsLoadBalancer(lb({ type: "NodePort" }))).toBe(false);
});

test("every Ready node's InternalIP, sorted; NotReady and blocking taints left out; cordoned nodes kept", () => {
  const nodes = [
    node("c", "192.168.1.30"),
    node("a", "192.168.1.10"),
    node("down", "192.168.1.40", { ready: false }),
    node("gpu", "192.168.1.50", { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }),
    node("soft", "192.168.1.60", { taints: [{ key: "dedicated", effect: "PreferNoSchedule" }] }),
    node("cp", "192.168.1.70", { taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }] }),
    node("cordoned", "192.168.1.80", { unschedulable: true, taints: [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }] }),
  ];
  expect(loadBalancerIPs(lb(), nodes, undefined)).toEqual(["192.168.1.10", "192.168.1.30", "192.168.1.60", "192.168.1.70", "192.168.1.80"]);
});

test("ExternalIPs replace InternalIPs when any serving node has one (k3s)", () => {
  const nodes = [node("a", "10.0.0.1", { external: "203.0.113.1" }), node("b", "10.0.0.2")];
  expect(loadBalancerIPs(lb(), nodes, undefined)).toEqual(["203.0.113.1"]);
  // ...but only among the nodes that serve.
  const down = [node("a", "10.0.0.1", { external: "203.0.113.1", ready: false }), node("b", "10.0.0.2")];
  expect(loadBalancerIPs(lb(), down, undefined)).toEqual(["10.0.0.2"]);
});

test("the enablelb label: once any node has it, only nodes labelled true serve; lbpool narrows further", () => {
  const nodes = [
    node("a", "10.0.0.1", { labels: { [ENABLE_LB_LABEL]: "true", [LB_POOL_LABEL]: "edge" } }),
    node("b", "10.0.0.2", { labels: { [ENABLE_LB_LABEL]: "false" } }),
    node("c", "10.0.0.3"),
    node("d", "10.0.0.4", { labels: { [ENABLE_LB_LABEL]: "true" } }),
  ];
  expect(loadBalancerIPs(lb(), nodes, undefined)).toEqual(["10.0.0.1", "10.0.0.4"]);
  expect(loadBalancerIPs(lb({}, { [LB_POOL_LABEL]: "edge" }), nodes, undefined)).toEqual(["10.0.0.1"]);
  // A label with value false alone restricts too: no node is enabled then.
  expect(loadBalancerIPs(lb(), [nodes[1], nodes[2]], undefined)).toEqual([]);
  // Without any enablelb label, the pool label on a Service changes nothing (k3s adds the pool selector only with enablelb).
  expect(loadBalancerIPs(lb({}, { [LB_POOL_LABEL]: "edge" }), [nodes[2]], undefined)).toEqual(["10.0.0.3"]);
});

test("externalTrafficPolicy Local: only nodes with a ready endpoint", () => {
  const nodes = [node("a", "10.0.0.1"), node("b", "10.0.0.2"), node("c", "10.0.0.3")];
  const ep: Endpoints = {
    metadata: { name: "web", namespace: "default" },
    subsets: [{ addresses: [{ ip: "10.42.1.5", nodeName: "b" }], notReadyAddresses: [{ ip: "10.42.2.5", nodeName: "c" }], ports: [{ port: 80 }] }],
  };
  expect(loadBalancerIPs(lb({ externalTrafficPolicy: "Local" }), nodes, ep)).toEqual(["10.0.0.2"]);
  expect(loadBalancerIPs(lb({ externalTrafficPolicy: "Local" }), nodes, undefined)).toEqual([]);
  expect(loadBalancerIPs(lb({ externalTrafficPolicy: "Cluster" }), nodes, ep)).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
});

test("addresses follow the Service's IP families", () => {
  const nodes = [node("a", "10.0.0.1"), node("b", "fd00::2")];
  expect(loadBalancerIPs(lb(), nodes, undefined)).toEqual(["10.0.0.1"]);
  expect(loadBalancerIPs(lb({ ipFamilies: ["IPv6", "IPv4"] }), nodes, undefined)).toEqual(["fd00::2", "10.0.0.1"]);
});

test("heartbeats are not a relevant node change; readiness, labels and addresses are", () => {
  const a = node("a", "10.0.0.1");
  const beat = structuredClone(a);
  beat.status!.conditions![0].lastHeartbeatTime = "2026-01-01T00:00:00Z";
  expect(lbRelevantNodeState(beat)).toBe(lbRelevantNodeState(a));
  expect(lbRelevantNodeState(node("a", "10.0.0.1", { ready: false }))).not.toBe(lbRelevantNodeState(a));
  expect(lbRelevantNodeState(node("a", "10.0.0.9"))).not.toBe(lbRelevantNodeState(a));
  expect(lbRelevantNodeState(node("a", "10.0.0.1", { labels: { [ENABLE_LB_LABEL]: "true" } }))).not.toBe(lbRelevantNodeState(a));
});

test("a port is held per node by the oldest LoadBalancer using it (svclb hostPorts); other ports and other pools do not clash", () => {
  const at = (name: string, ts: string, ports: number[], labels?: Record<string, string>): Service => ({
    metadata: { name, namespace: "default", creationTimestamp: ts, labels },
    spec: { type: "LoadBalancer", ports: ports.map((port) => ({ port, protocol: "TCP" })) },
  });
  const nodes = [node("a", "10.0.0.1"), node("b", "10.0.0.2")];
  const first = at("first", "2026-01-01T00:00:00Z", [80]);
  const second = at("second", "2026-01-02T00:00:00Z", [443, 80]);
  const third = at("third", "2026-01-03T00:00:00Z", [8080]);
  const udp: Service = { ...at("udp", "2026-01-04T00:00:00Z", []), spec: { type: "LoadBalancer", ports: [{ port: 80, protocol: "UDP" }] } };
  const got = assignPorts([third, second, first, udp, lb({ type: "ClusterIP" })], nodes);
  expect([...got.get("default/first")!.nodes].sort()).toEqual(["a", "b"]);
  expect([...got.get("default/second")!.nodes]).toEqual([]);
  expect(got.get("default/second")!.blocked).toEqual([
    { node: "a", port: "80/TCP", holder: "default/first" },
    { node: "b", port: "80/TCP", holder: "default/first" },
  ]);
  expect(got.get("default/third")!.nodes.size).toBe(2);
  expect(got.get("default/udp")!.nodes.size).toBe(2);
  expect(loadBalancerIPs(second, nodes, undefined, got.get("default/second")!.nodes)).toEqual([]);

  // With pools, two Services on one port live side by side on different nodes.
  const pooled = [node("a", "10.0.0.1", { labels: { [ENABLE_LB_LABEL]: "true", [LB_POOL_LABEL]: "x" } }), node("b", "10.0.0.2", { labels: { [ENABLE_LB_LABEL]: "true", [LB_POOL_LABEL]: "y" } })];
  const inX = at("in-x", "2026-01-01T00:00:00Z", [80], { [LB_POOL_LABEL]: "x" });
  const inY = at("in-y", "2026-01-02T00:00:00Z", [80], { [LB_POOL_LABEL]: "y" });
  const pools = assignPorts([inX, inY], pooled);
  expect(loadBalancerIPs(inX, pooled, undefined, pools.get("default/in-x")!.nodes)).toEqual(["10.0.0.1"]);
  expect(loadBalancerIPs(inY, pooled, undefined, pools.get("default/in-y")!.nodes)).toEqual(["10.0.0.2"]);
});

test("Services created in the same second: the one already serving a node keeps its port there", () => {
  const nodes = [node("a", "10.0.0.1"), node("b", "10.0.0.2")];
  const mk = (name: string, ingress: string[]): Service => ({
    metadata: { name, namespace: "default", creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: { type: "LoadBalancer", ports: [{ port: 80, protocol: "TCP" }] },
    status: { loadBalancer: { ingress: ingress.map((ip) => ({ ip })) } },
  });
  // Neither serves yet: the first by name wins everywhere.
  expect([...assignPorts([mk("b-svc", []), mk("a-svc", [])], nodes).get("default/a-svc")!.nodes].sort()).toEqual(["a", "b"]);
  // "z-svc" already lists node b: it keeps b, "a-svc" keeps a.
  const got = assignPorts([mk("z-svc", ["10.0.0.2"]), mk("a-svc", ["10.0.0.1"])], nodes);
  expect([...got.get("default/a-svc")!.nodes]).toEqual(["a"]);
  expect([...got.get("default/z-svc")!.nodes]).toEqual(["b"]);
});
