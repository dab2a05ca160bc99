import { afterAll, beforeAll, expect, test } from "bun:test";
import { nodes, type Node } from "../../../api/resources/core/node";
import { pods, type Pod } from "../../../api/resources/core/pod";
import { services, type Service } from "../../../api/resources/core/service";
import { endpointSlices, type EndpointSlice } from "../../../api/resources/discovery/endpointslice";
import { eventually, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { startEndpointSliceController } from ".";

let env: ControllerTestEnv;
let ctl: { stop(): Promise<void> };

beforeAll(async () => {
  env = await startControllerTestEnv();
  // Three endpoints per slice, so spreading over slices shows with a handful of pods.
  ctl = await startEndpointSliceController(env.client, { maxEndpointsPerSlice: 3 });
  await env.client.resource<Node>(nodes).create(undefined, { metadata: { name: "n1", labels: { "topology.kubernetes.io/zone": "z1" } } });
});
afterAll(async () => {
  await ctl.stop();
  await env.stop();
});

const podsC = () => env.client.resource<Pod>(pods);
const svcs = () => env.client.resource<Service>(services);
const slicesC = () => env.client.resource<EndpointSlice>(endpointSlices);
const slicesOf = async (svc: string) => (await slicesC().list("default", { labelSelector: `kubernetes.io/service-name=${svc}` })).items;

async function runningPod(name: string, ip: string, ready: boolean, labels: Record<string, string>, extra: { ports?: { name: string; containerPort: number }[]; hostname?: string; subdomain?: string; node?: string } = {}) {
  await podsC().create("default", {
    metadata: { name, labels },
    spec: { nodeName: extra.node ?? "n1", hostname: extra.hostname, subdomain: extra.subdomain, containers: [{ name: "c", image: "busybox", ports: extra.ports ?? [] }] },
  });
  await podsC().patch("default", name, { status: { phase: "Running", podIP: ip, podIPs: [{ ip }], conditions: [{ type: "Ready", status: ready ? "True" : "False" }] } }, "merge", "status");
}

const endpointsOf = (slices: EndpointSlice[]) => slices.flatMap((s) => s.endpoints ?? []);

test("ready, unready and terminating pods; named target ports per pod make one slice per port set", async () => {
  await runningPod("web-a", "10.42.0.10", true, { app: "web" }, { ports: [{ name: "http", containerPort: 8080 }], hostname: "a", subdomain: "web" });
  await runningPod("web-b", "10.42.0.11", false, { app: "web" }, { ports: [{ name: "http", containerPort: 8080 }] });
  await runningPod("web-c", "10.42.0.12", true, { app: "web" }, { ports: [{ name: "http", containerPort: 9090 }] });
  await runningPod("web-d", "10.42.0.13", true, { app: "web" }, { ports: [{ name: "http", containerPort: 8080 }], hostname: "d", subdomain: "other" });
  const svc = await svcs().create("default", { metadata: { name: "web", labels: { team: "a" } }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] } });
  const slices = await eventually(async () => {
    const s = await slicesOf("web");
    return endpointsOf(s).length === 4 && s.length === 2 ? s : undefined;
  }, "two slices with four endpoints");
  for (const s of slices) {
    expect(s.addressType).toBe("IPv4");
    expect(s.metadata.name!.startsWith("web-")).toBe(true);
    expect(s.metadata.labels).toEqual({ team: "a", "kubernetes.io/service-name": "web", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" });
    expect(s.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Service", name: "web", uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true }]);
  }
  const s8080 = slices.find((s) => s.ports?.[0]?.port === 8080)!;
  expect(s8080.ports).toEqual([{ name: "http", protocol: "TCP", port: 8080 }]);
  const byPod = Object.fromEntries(endpointsOf(slices).map((e) => [e.targetRef!.name, e]));
  expect(byPod["web-a"]).toEqual({
    addresses: ["10.42.0.10"],
    conditions: { ready: true, serving: true, terminating: false },
    targetRef: { kind: "Pod", namespace: "default", name: "web-a", uid: expect.any(String) },
    nodeName: "n1",
    zone: "z1",
    hostname: "a",
  });
  expect(byPod["web-b"]!.conditions).toEqual({ ready: false, serving: false, terminating: false });
  expect(byPod["web-d"]!.hostname).toBeUndefined(); // its subdomain is another Service
  expect(slices.find((s) => s.ports?.[0]?.port === 9090)!.endpoints!.map((e) => e.addresses[0])).toEqual(["10.42.0.12"]);

  // A terminating pod stays, not ready but still serving, so consumers can fall back to it.
  await podsC().patch("default", "web-a", { metadata: { finalizers: ["example.com/hold"] } }, "merge");
  await podsC().delete("default", "web-a", { gracePeriodSeconds: 0 });
  await eventually(async () => {
    const e = endpointsOf(await slicesOf("web")).find((e) => e.targetRef!.name === "web-a");
    return e?.conditions?.terminating === true && e.conditions.ready === false && e.conditions.serving === true;
  }, "web-a terminating");
  await podsC().patch("default", "web-a", { metadata: { finalizers: null } }, "merge");
  await eventually(async () => !endpointsOf(await slicesOf("web")).some((e) => e.targetRef!.name === "web-a"), "web-a gone");
});

test("at most maxEndpointsPerSlice per slice, and a change touches only the slice holding it", async () => {
  for (let i = 0; i < 7; i++) await runningPod(`many-${i}`, `10.42.1.${10 + i}`, true, { app: "many" });
  await svcs().create("default", { metadata: { name: "many" }, spec: { selector: { app: "many" }, ports: [{ port: 80, targetPort: 8080 }] } });
  const before = await eventually(async () => {
    const s = await slicesOf("many");
    return endpointsOf(s).length === 7 ? s : undefined;
  }, "seven endpoints");
  expect(before.map((s) => s.endpoints!.length).sort()).toEqual([1, 3, 3]);
  expect(before[0]!.ports).toEqual([{ name: "", protocol: "TCP", port: 8080 }]);

  const holder = before.find((s) => s.endpoints!.some((e) => e.targetRef!.name === "many-3"))!;
  await podsC().patch("default", "many-3", { status: { conditions: [{ type: "Ready", status: "False" }] } }, "strategic", "status");
  const after = await eventually(async () => {
    const s = await slicesOf("many");
    return endpointsOf(s).find((e) => e.targetRef!.name === "many-3")?.conditions?.ready === false ? s : undefined;
  }, "many-3 not ready");
  for (const s of after) {
    const old = before.find((b) => b.metadata.name === s.metadata.name)!;
    if (s.metadata.name === holder.metadata.name) expect(s.metadata.resourceVersion).not.toBe(old.metadata.resourceVersion);
    else expect(s.metadata.resourceVersion).toBe(old.metadata.resourceVersion);
  }
});

test("a Service selecting nothing has one empty placeholder slice; publishNotReadyAddresses marks unready pods ready", async () => {
  await svcs().create("default", { metadata: { name: "none" }, spec: { selector: { app: "none" }, ports: [{ port: 80 }] } });
  const [placeholder] = await eventually(async () => {
    const s = await slicesOf("none");
    return s.length === 1 ? s : undefined;
  }, "placeholder");
  expect(placeholder!.endpoints ?? []).toEqual([]);
  expect(placeholder!.ports ?? []).toEqual([]);

  await runningPod("np-a", "10.42.2.10", false, { app: "np" });
  await svcs().create("default", { metadata: { name: "np" }, spec: { selector: { app: "np" }, publishNotReadyAddresses: true, ports: [{ port: 80 }] } });
  const ep = await eventually(async () => endpointsOf(await slicesOf("np"))[0], "np endpoint");
  expect(ep.conditions).toEqual({ ready: true, serving: false, terminating: false });
});

test("a pod on a node that does not exist is left out until the node appears", async () => {
  await runningPod("ghost-a", "10.42.3.10", true, { app: "ghost" }, { node: "n-later" });
  await runningPod("ghost-b", "10.42.3.11", true, { app: "ghost" });
  await svcs().create("default", { metadata: { name: "ghost" }, spec: { selector: { app: "ghost" }, ports: [{ port: 80 }] } });
  expect((await eventually(async () => endpointsOf(await slicesOf("ghost")).map((e) => e.targetRef!.name).join(), "ghost-b")).toString()).toBe("ghost-b");
  await env.client.resource<Node>(nodes).create(undefined, { metadata: { name: "n-later" } });
  await eventually(async () => endpointsOf(await slicesOf("ghost")).length === 2, "both pods once the node exists");
});

test("Services without a selector and ExternalName Services get no slices from this controller", async () => {
  await svcs().create("default", { metadata: { name: "manual" }, spec: { ports: [{ port: 80 }] } });
  await svcs().create("default", { metadata: { name: "ext" }, spec: { type: "ExternalName", externalName: "example.com", selector: { app: "web" } } });
  // A Service created after them is handled, so they have been looked at by then.
  await svcs().create("default", { metadata: { name: "later" }, spec: { selector: { app: "none" }, ports: [{ port: 80 }] } });
  await eventually(async () => (await slicesOf("later")).length === 1, "later's placeholder");
  expect(await slicesOf("manual")).toEqual([]);
  expect(await slicesOf("ext")).toEqual([]);
});
