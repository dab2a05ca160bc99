import { afterAll, beforeAll, expect, test } from "bun:test";
import type { KubeObject } from "../../../api/meta";
import { nodes as nodesDef, type Node } from "../../../api/resources/core/node";
import { services, type Service } from "../../../api/resources/core/service";
import { eventually, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { ENABLE_LB_LABEL } from "./addresses";
import { startServiceLBController } from ".";

let env: ControllerTestEnv;
let ctl: { stop(): Promise<void> };
beforeAll(async () => {
  env = await startControllerTestEnv();
  ctl = await startServiceLBController(env.client);
});
afterAll(async () => {
  await ctl.stop();
  await env.stop();
});

const svcs = () => env.client.resource<Service>(services);
const nodeC = () => env.client.resource<Node>(nodesDef);
const ingress = async (name: string) => ((await svcs().get("default", name)).status?.loadBalancer?.ingress ?? []).map((i) => i.ip);
const ingressIs = (name: string, ips: string[]) =>
  eventually(async () => JSON.stringify(await ingress(name)) === JSON.stringify(ips), `${name} ingress ${JSON.stringify(ips)}`);

async function addNode(name: string, ip: string, labels?: Record<string, string>) {
  await nodeC().create(undefined, {
    metadata: { name, labels },
    status: { conditions: [{ type: "Ready", status: "True" }], addresses: [{ type: "InternalIP", address: ip }, { type: "Hostname", address: name }] },
  });
}
const setReady = (name: string, ready: boolean) =>
  nodeC().patch(undefined, name, { status: { conditions: [{ type: "Ready", status: ready ? "True" : "False", lastHeartbeatTime: new Date().toISOString() }] } }, "strategic", "status");

/** `kubectl get svc`'s EXTERNAL-IP cell, from the server's Table. */
async function externalIPColumn(name: string): Promise<string> {
  const r = await env.t.call("GET", `/api/v1/namespaces/default/services/${name}`, undefined, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
  const col = r.body.columnDefinitions.findIndex((c: { name: string }) => c.name === "External-IP");
  return r.body.rows[0].cells[col];
}

async function eventsFor(name: string): Promise<{ reason: string; type: string; message: string }[]> {
  const list = (await env.t.call("GET", "/api/v1/namespaces/default/events")).body.items as (KubeObject & { reason: string; type: string; message: string; involvedObject: { name: string } })[];
  return list.filter((e) => e.involvedObject.name === name);
}

test("a LoadBalancer Service gets the Ready nodes' addresses, following nodes joining, leaving and turning NotReady", async () => {
  await addNode("lb-a", "192.168.50.11");
  await addNode("lb-b", "192.168.50.12");
  await svcs().create("default", { metadata: { name: "web" }, spec: { type: "LoadBalancer", selector: { app: "web" }, ports: [{ port: 80 }] } });
  await ingressIs("web", ["192.168.50.11", "192.168.50.12"]);
  expect(await externalIPColumn("web")).toBe("192.168.50.11,192.168.50.12");
  // The event is written after the status (fire and forget): wait for it.
  const updated = await eventually(async () => (await eventsFor("web")).find((e) => e.reason === "UpdatedLoadBalancer"), "UpdatedLoadBalancer event");
  expect([updated.type, updated.message]).toEqual(["Normal", "Updated LoadBalancer with new IPs: [] -> [192.168.50.11 192.168.50.12]"]);

  await setReady("lb-b", false);
  await ingressIs("web", ["192.168.50.11"]);
  await addNode("lb-c", "192.168.50.13");
  await ingressIs("web", ["192.168.50.11", "192.168.50.13"]);
  await setReady("lb-b", true);
  await ingressIs("web", ["192.168.50.11", "192.168.50.12", "192.168.50.13"]);
  await nodeC().delete(undefined, "lb-c");
  await ingressIs("web", ["192.168.50.11", "192.168.50.12"]);
});

test("no serving node: the status is emptied, the table says <pending> and a Warning says why", async () => {
  await setReady("lb-a", false);
  await setReady("lb-b", false);
  await ingressIs("web", []);
  expect(await externalIPColumn("web")).toBe("<pending>");
  await eventually(async () => (await eventsFor("web")).some((e) => e.type === "Warning" && e.reason === "UnAvailableLoadBalancer"), "UnAvailableLoadBalancer event");
  await setReady("lb-a", true);
  await setReady("lb-b", true);
  await ingressIs("web", ["192.168.50.11", "192.168.50.12"]);
});

test("the enablelb node label restricts ServiceLB to the nodes labelled true", async () => {
  await nodeC().patch(undefined, "lb-b", { metadata: { labels: { [ENABLE_LB_LABEL]: "true" } } });
  await ingressIs("web", ["192.168.50.12"]);
  await nodeC().patch(undefined, "lb-b", { metadata: { labels: { [ENABLE_LB_LABEL]: null } } });
  await ingressIs("web", ["192.168.50.11", "192.168.50.12"]);
});

test("a Service that stops being a LoadBalancer loses its addresses; one with a loadBalancerClass is left alone", async () => {
  const web = await svcs().get("default", "web");
  await svcs().update({ ...web, spec: { ...web.spec, type: "ClusterIP" } });
  await ingressIs("web", []);
  const back = await svcs().get("default", "web");
  await svcs().update({ ...back, spec: { ...back.spec, type: "LoadBalancer" } });
  await ingressIs("web", ["192.168.50.11", "192.168.50.12"]);

  await svcs().create("default", { metadata: { name: "other-lb" }, spec: { type: "LoadBalancer", loadBalancerClass: "example.com/lb", ports: [{ port: 80 }] } });
  await svcs().create("default", { metadata: { name: "later" }, spec: { type: "LoadBalancer", ports: [{ port: 81 }] } });
  await ingressIs("later", ["192.168.50.11", "192.168.50.12"]); // the controller has seen both by now
  expect(await ingress("other-lb")).toEqual([]);
});

test("externalTrafficPolicy Local: only the nodes with a ready endpoint, following the Endpoints", async () => {
  // No selector: the Endpoints are written by hand here, as the endpoints controller would.
  await svcs().create("default", { metadata: { name: "local" }, spec: { type: "LoadBalancer", externalTrafficPolicy: "Local", ports: [{ port: 82 }] } });
  const epC = env.client.resource<any>({ group: "", version: "v1", plural: "endpoints", namespaced: true });
  await epC.create("default", { metadata: { name: "local" }, subsets: [{ addresses: [{ ip: "10.42.0.5", nodeName: "lb-b" }], ports: [{ port: 82 }] }] });
  await ingressIs("local", ["192.168.50.12"]);
  const ep = await epC.get("default", "local");
  await epC.update({ ...ep, subsets: [{ addresses: [{ ip: "10.42.0.5", nodeName: "lb-b" }, { ip: "10.42.1.5", nodeName: "lb-a" }], ports: [{ port: 82 }] }] });
  await ingressIs("local", ["192.168.50.11", "192.168.50.12"]);
  await epC.delete("default", "local");
  await ingressIs("local", []);
});

test("a second LoadBalancer on a port another one holds stays pending, says why, and gets the nodes once the port is free", async () => {
  await svcs().create("default", { metadata: { name: "clash" }, spec: { type: "LoadBalancer", ports: [{ port: 80 }] } });
  const ev = await eventually(async () => (await eventsFor("clash")).find((e) => e.reason === "UnAvailableLoadBalancer"), "UnAvailableLoadBalancer for clash");
  expect(ev.type).toBe("Warning");
  expect(ev.message).toBe("There are no available nodes for LoadBalancer: port 80/TCP is used by LoadBalancer default/web on lb-a, lb-b");
  expect(await ingress("clash")).toEqual([]);
  expect(await externalIPColumn("clash")).toBe("<pending>");
  await svcs().delete("default", "web");
  await ingressIs("clash", ["192.168.50.11", "192.168.50.12"]);
});
