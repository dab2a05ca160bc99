import { afterAll, beforeAll, expect, test } from "bun:test";
import { endpoints, type Endpoints } from "../../../api/resources/core/endpoints";
import { services, type Service } from "../../../api/resources/core/service";
import { endpointSlices, type EndpointSlice } from "../../../api/resources/discovery/endpointslice";
import { eventually, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { startEndpointSliceMirroringController } from ".";
import { mirroredEndpoints } from "./mirror";

let env: ControllerTestEnv;
let ctl: { stop(): Promise<void> };

beforeAll(async () => {
  env = await startControllerTestEnv();
  ctl = await startEndpointSliceMirroringController(env.client);
});
afterAll(async () => {
  await ctl.stop();
  await env.stop();
});

const svcs = () => env.client.resource<Service>(services);
const eps = () => env.client.resource<Endpoints>(endpoints);
const slicesC = () => env.client.resource<EndpointSlice>(endpointSlices);
const slicesOf = async (svc: string) => (await slicesC().list("default", { labelSelector: `kubernetes.io/service-name=${svc}` })).items;

test("user-managed Endpoints of a Service without selector are mirrored, followed, and removed with them", async () => {
  await svcs().create("default", { metadata: { name: "db" }, spec: { ports: [{ name: "pg", port: 5432 }] } });
  const ep = await eps().create("default", {
    metadata: { name: "db", labels: { team: "a" }, annotations: { note: "x", "kubectl.kubernetes.io/last-applied-configuration": "{}" } },
    subsets: [{ addresses: [{ ip: "192.168.1.5", hostname: "db-0", nodeName: "n1" }], notReadyAddresses: [{ ip: "192.168.1.6" }], ports: [{ name: "pg", port: 5432, protocol: "TCP" }] }],
  });
  const [slice] = await eventually(async () => {
    const s = await slicesOf("db");
    return s.length === 1 ? s : undefined;
  }, "mirrored slice");
  expect(slice!.metadata.name!.startsWith("db-")).toBe(true);
  expect(slice!.metadata.labels).toEqual({ team: "a", "kubernetes.io/service-name": "db", "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io" });
  expect(slice!.metadata.annotations).toEqual({ note: "x" });
  expect(slice!.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Endpoints", name: "db", uid: ep.metadata.uid!, controller: true, blockOwnerDeletion: true }]);
  expect(slice!.addressType).toBe("IPv4");
  expect(slice!.ports).toEqual([{ name: "pg", port: 5432, protocol: "TCP" }]);
  expect(slice!.endpoints!.sort((a, b) => a.addresses[0]!.localeCompare(b.addresses[0]!))).toEqual([
    { addresses: ["192.168.1.5"], conditions: { ready: true }, hostname: "db-0", nodeName: "n1" },
    { addresses: ["192.168.1.6"], conditions: { ready: false } },
  ]);

  const cur = await eps().get("default", "db");
  await eps().update({ ...cur, subsets: [{ addresses: [{ ip: "192.168.1.7" }], ports: [{ name: "pg", port: 5432, protocol: "TCP" }] }] });
  const updated = await eventually(async () => {
    const s = await slicesOf("db");
    return s.length === 1 && s[0]!.endpoints?.[0]?.addresses[0] === "192.168.1.7" ? s[0] : undefined;
  }, "slice follows the Endpoints");
  expect(updated.metadata.name).toBe(slice!.metadata.name); // rewritten in place

  await eps().delete("default", "db");
  await eventually(async () => (await slicesOf("db")).length === 0, "slice removed with the Endpoints");
});

test("not mirrored: a Service with a selector, skip-mirror, no Service; a selector added later removes the slices", async () => {
  await svcs().create("default", { metadata: { name: "sel" }, spec: { selector: { app: "x" }, ports: [{ port: 80 }] } });
  await eps().create("default", { metadata: { name: "sel" }, subsets: [{ addresses: [{ ip: "10.42.0.5" }], ports: [{ port: 80, protocol: "TCP" }] }] });
  await svcs().create("default", { metadata: { name: "skip" }, spec: { ports: [{ port: 80 }] } });
  await eps().create("default", { metadata: { name: "skip", labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } }, subsets: [{ addresses: [{ ip: "10.42.0.6" }], ports: [{ port: 80, protocol: "TCP" }] }] });
  await eps().create("default", { metadata: { name: "orphan" }, subsets: [{ addresses: [{ ip: "10.42.0.7" }], ports: [{ port: 80, protocol: "TCP" }] }] });
  await svcs().create("default", { metadata: { name: "later" }, spec: { ports: [{ port: 80 }] } });
  await eps().create("default", { metadata: { name: "later" }, subsets: [{ addresses: [{ ip: "10.42.0.8" }], ports: [{ port: 80, protocol: "TCP" }] }] });
  await eventually(async () => (await slicesOf("later")).length === 1, "later mirrored (so the others were looked at)");
  expect(await slicesOf("sel")).toEqual([]);
  expect(await slicesOf("skip")).toEqual([]);
  expect(await slicesOf("orphan")).toEqual([]);

  const svc = await svcs().get("default", "later");
  await svcs().update({ ...svc, spec: { ...svc.spec, selector: { app: "later" } } });
  await eventually(async () => (await slicesOf("later")).length === 0, "mirrored slice removed once the Service selects pods");
});

test("addresses by family, invalid ones and the per-subset limit", () => {
  const m = mirroredEndpoints(
    {
      metadata: { name: "x", namespace: "default" },
      subsets: [{ addresses: [{ ip: "10.0.0.1" }, { ip: "fd00::1" }, { ip: "nope" }, { ip: "10.0.0.2" }, { ip: "10.0.0.3" }], ports: [{ port: 80, protocol: "TCP" }] }],
    } as Endpoints,
    3,
  );
  const sizes = Object.fromEntries([...m.groups.values()].map((g) => [g.addressType, g.endpoints.size]));
  expect(sizes).toEqual({ IPv4: 2, IPv6: 1 });
  expect(m.invalid).toBe(1);
  expect(m.skipped).toBe(1);
});
