import { afterAll, beforeAll, expect, test } from "bun:test";
import { endpoints, type Endpoints } from "../../../api/resources/core/endpoints";
import { pods, type Pod } from "../../../api/resources/core/pod";
import { services, type Service } from "../../../api/resources/core/service";
import { eventually, getOrUndefined, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { startEndpointsController } from ".";

let env: ControllerTestEnv;
let ctl: { stop(): Promise<void> };
beforeAll(async () => {
  env = await startControllerTestEnv();
  ctl = await startEndpointsController(env.client);
});
afterAll(async () => {
  await ctl.stop();
  await env.stop();
});

const podsC = () => env.client.resource<Pod>(pods);
const svcs = () => env.client.resource<Service>(services);
const eps = () => env.client.resource<Endpoints>(endpoints);

async function runningPod(name: string, ip: string, ready: boolean, labels: Record<string, string>, ports: { name: string; containerPort: number }[] = []) {
  await podsC().create("default", { metadata: { name, labels }, spec: { nodeName: "n1", containers: [{ name: "c", image: "busybox", ports }] } });
  // What the node's agent reports.
  await podsC().patch("default", name, { status: { phase: "Running", podIP: ip, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] } }, "merge", "status");
}

test("ready and unready pods, named target ports resolved per pod, subsets grouped by port set", async () => {
  await runningPod("web-a", "10.42.0.10", true, { app: "web" }, [{ name: "http", containerPort: 8080 }]);
  await runningPod("web-b", "10.42.0.11", false, { app: "web" }, [{ name: "http", containerPort: 8080 }]);
  await runningPod("web-c", "10.42.0.12", true, { app: "web" }, [{ name: "http", containerPort: 9090 }]);
  await runningPod("web-d", "10.42.0.13", true, { app: "web" }); // no "http" port: left out
  await runningPod("other", "10.42.0.14", true, { app: "other" }, [{ name: "http", containerPort: 8080 }]);
  await svcs().create("default", { metadata: { name: "web", labels: { team: "a" } }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] } });

  const ep = await eventually(async () => {
    const e = await getOrUndefined(eps().get("default", "web"));
    return e?.subsets?.length === 2 ? e : undefined;
  }, "endpoints with two subsets");
  expect(ep.metadata.labels).toEqual({ team: "a" });
  expect(ep.metadata.ownerReferences).toBeUndefined();
  const s8080 = ep.subsets!.find((s) => s.ports![0].port === 8080)!;
  const s9090 = ep.subsets!.find((s) => s.ports![0].port === 9090)!;
  expect(s8080.ports).toEqual([{ name: "http", port: 8080, protocol: "TCP" }]);
  expect(s8080.addresses!.map((a) => a.ip)).toEqual(["10.42.0.10"]);
  expect(s8080.addresses![0]).toMatchObject({ nodeName: "n1", targetRef: { kind: "Pod", name: "web-a", namespace: "default" } });
  expect(s8080.notReadyAddresses!.map((a) => a.ip)).toEqual(["10.42.0.11"]);
  expect(s9090.addresses!.map((a) => a.ip)).toEqual(["10.42.0.12"]);

  // The unready pod becomes ready: it moves to addresses.
  await podsC().patch("default", "web-b", { status: { conditions: [{ type: "Ready", status: "True" }] } }, "strategic", "status");
  await eventually(async () => {
    const e = await eps().get("default", "web");
    return e.subsets?.find((s) => s.ports![0].port === 8080)?.addresses?.length === 2;
  }, "web-b ready");

  // A deleted pod leaves; deleting the Service removes the Endpoints.
  await podsC().delete("default", "web-c", { gracePeriodSeconds: 0 });
  await eventually(async () => (await eps().get("default", "web")).subsets?.length === 1, "web-c gone");
  await svcs().delete("default", "web");
  await eventually(async () => !(await getOrUndefined(eps().get("default", "web"))), "endpoints removed with the service");
});

test("publishNotReadyAddresses puts unready pods in addresses; numeric and default target ports", async () => {
  await runningPod("np-a", "10.42.1.10", false, { app: "np" });
  await svcs().create("default", { metadata: { name: "np" }, spec: { selector: { app: "np" }, publishNotReadyAddresses: true, ports: [{ name: "a", port: 80, targetPort: 8080 }, { name: "b", port: 81 }] } });
  const ep = await eventually(async () => (await getOrUndefined(eps().get("default", "np")))?.subsets?.[0], "endpoints");
  expect(ep.addresses!.map((a) => a.ip)).toEqual(["10.42.1.10"]);
  expect(ep.notReadyAddresses).toBeUndefined();
  expect(ep.ports).toEqual([{ name: "a", port: 8080, protocol: "TCP" }, { name: "b", port: 81, protocol: "TCP" }]);
});

test("a Service without selector keeps the user's Endpoints", async () => {
  await svcs().create("default", { metadata: { name: "manual" }, spec: { ports: [{ port: 80 }] } });
  await eps().create("default", { metadata: { name: "manual" }, subsets: [{ addresses: [{ ip: "192.168.1.5" }], ports: [{ port: 80, protocol: "TCP" }] }] });
  await Bun.sleep(100);
  expect((await eps().get("default", "manual")).subsets![0].addresses![0].ip).toBe("192.168.1.5");
});

test("a named targetPort no selected pod has: those pods are left out and a Warning event on the Service says which", async () => {
  await runningPod("mx-a", "10.42.2.10", true, { app: "mx" }, [{ name: "metrics", containerPort: 9100 }]);
  await runningPod("mx-b", "10.42.2.11", true, { app: "mx" }, [{ name: "http", containerPort: 8080 }]);
  await svcs().create("default", { metadata: { name: "mx" }, spec: { selector: { app: "mx" }, ports: [{ name: "metrics", port: 9100, targetPort: "metrics" }] } });
  const ep = await eventually(async () => (await getOrUndefined(eps().get("default", "mx")))?.subsets?.[0], "endpoints");
  expect(ep.addresses!.map((a) => a.targetRef!.name)).toEqual(["mx-a"]);
  const ev = await eventually(async () => {
    const list = await env.client.resource<any>({ group: "", version: "v1", plural: "events", namespaced: true }).list("default");
    return list.items.find((e: any) => e.reason === "FailedToResolveTargetPort" && e.involvedObject.name === "mx");
  }, "FailedToResolveTargetPort event");
  expect(ev.type).toBe("Warning");
  expect(ev.involvedObject.kind).toBe("Service");
  expect(ev.message).toBe('port "metrics" (targetPort "metrics", TCP) matches no container port of 1 selected pod(s) (mx-b); they are left out of the endpoints for it');
});
