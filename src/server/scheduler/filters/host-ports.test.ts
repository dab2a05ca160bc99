import { expect, test } from "bun:test";
import type { ContainerPort } from "../../../api/resources/core/podspec.schema";
import { makeNode, makePod, nodeInfo, podInfo } from "../harness";
import { hostPorts } from "./host-ports";

const NO_PORTS = ["node(s) didn't have free ports for the requested pod ports"];
const withPorts = (name: string, ports: ContainerPort[]) => makePod(name, { spec: { containers: [{ name: "c", image: "x", ports }] } });
const onNode = (...pods: ReturnType<typeof withPorts>[]) => nodeInfo(makeNode("a"), pods.map((p) => ({ ...p, spec: { ...p.spec!, nodeName: "a" } })));

test("the same host port and protocol on one node clashes", () => {
  const node = onNode(withPorts("web", [{ containerPort: 80, hostPort: 8080 }]));
  expect(hostPorts.filter(podInfo(withPorts("p", [{ containerPort: 80, hostPort: 8080 }])), node)).toEqual(NO_PORTS);
  expect(hostPorts.filter(podInfo(withPorts("p", [{ containerPort: 80, hostPort: 8081 }])), node)).toBeUndefined();
});

test("different protocols do not clash; TCP is the default", () => {
  const node = onNode(withPorts("dns", [{ containerPort: 53, hostPort: 53, protocol: "UDP" }]));
  expect(hostPorts.filter(podInfo(withPorts("p", [{ containerPort: 53, hostPort: 53 }])), node)).toBeUndefined();
  expect(hostPorts.filter(podInfo(withPorts("p", [{ containerPort: 53, hostPort: 53, protocol: "UDP" }])), node)).toEqual(NO_PORTS);
});

test("specific host IPs clash only with the same IP or the wildcard", () => {
  const node = onNode(withPorts("a", [{ containerPort: 80, hostPort: 80, hostIP: "10.0.0.1" }]));
  expect(hostPorts.filter(podInfo(withPorts("p", [{ containerPort: 80, hostPort: 80, hostIP: "10.0.0.2" }])), node)).toBeUndefined();
  expect(hostPorts.filter(podInfo(withPorts("p", [{ containerPort: 80, hostPort: 80, hostIP: "10.0.0.1" }])), node)).toEqual(NO_PORTS);
  expect(hostPorts.filter(podInfo(withPorts("p", [{ containerPort: 80, hostPort: 80 }])), node)).toEqual(NO_PORTS);
});

test("container ports without a host port are not considered", () => {
  const pod = podInfo(withPorts("p", [{ containerPort: 80 }]));
  expect(hostPorts.applies!(pod)).toBe(false);
});
