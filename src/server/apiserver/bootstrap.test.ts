// The `kubernetes` Service and Endpoints: how pods reach the API server (kubernetes.default.svc,
// 10.43.0.1:443 → the advertise address and HTTPS port).
import { expect, test } from "bun:test";
import { openStore } from "../store";
import { createApiServer } from ".";
import { testConfig } from "./testing";
import type { ServerConfig } from "../config";
import { log } from "../../machinery/log";
import { ensureKubernetesService, keepKubernetesService } from "./bootstrap";

async function until(what: string, f: () => Promise<boolean>) {
  for (let i = 0; i < 200; i++) {
    if (await f()) return;
    await Bun.sleep(25);
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function startOn(store: Awaited<ReturnType<typeof openStore>>, over: Partial<ServerConfig>) {
  const api = await createApiServer({ store, config: testConfig(over), authenticate: () => ({ user: "admin", groups: ["system:masters"] }) });
  const get = async (path: string) => {
    const res = await api.fetch(new Request(`https://bramble.test${path}`));
    return { status: res.status, body: (await res.json()) as any };
  };
  return { api, get };
}

test("the kubernetes Endpoints point at the advertise address and HTTPS port, and follow them across restarts", async () => {
  const store = await openStore("memory:");
  try {
    const first = await startOn(store, { advertiseAddress: "192.168.7.5", httpsListenPort: 6443 });
    const svc = (await first.get("/api/v1/namespaces/default/services/kubernetes")).body;
    expect(svc.spec).toMatchObject({ clusterIP: "10.43.0.1", ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }] });
    expect(svc.spec.selector).toBeUndefined(); // so the endpoints controller leaves its Endpoints alone
    const ep = (await first.get("/api/v1/namespaces/default/endpoints/kubernetes")).body;
    expect(ep.subsets).toEqual([{ addresses: [{ ip: "192.168.7.5" }], ports: [{ name: "https", port: 6443, protocol: "TCP" }] }]);
    await first.api.stop();

    // Restarted with another address and port (a new DHCP lease, --https-listen-port).
    const second = await startOn(store, { advertiseAddress: "192.168.7.9", httpsListenPort: 7443 });
    const ep2 = (await second.get("/api/v1/namespaces/default/endpoints/kubernetes")).body;
    expect(ep2.subsets).toEqual([{ addresses: [{ ip: "192.168.7.9" }], ports: [{ name: "https", port: 7443, protocol: "TCP" }] }]);
    // Its EndpointSlice, written by the server itself (the Endpoints are not mirrored).
    expect(ep2.metadata.labels).toEqual({ "endpointslice.kubernetes.io/skip-mirror": "true" });
    const slice = (await second.get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes")).body;
    expect(slice.metadata.labels).toEqual({ "kubernetes.io/service-name": "kubernetes" });
    expect(slice.addressType).toBe("IPv4");
    expect(slice.endpoints).toEqual([{ addresses: ["192.168.7.9"], conditions: { ready: true } }]);
    expect(slice.ports).toEqual([{ name: "https", port: 7443, protocol: "TCP" }]);
    const svc2 = (await second.get("/api/v1/namespaces/default/services/kubernetes")).body;
    expect(svc2.spec.clusterIP).toBe("10.43.0.1");
    expect(svc2.spec.ports).toEqual([{ name: "https", port: 443, protocol: "TCP", targetPort: 7443 }]);
    await second.api.stop();
  } finally {
    await store.close();
  }
});

test("a loopback advertise address gives no kubernetes Endpoints (pods could not use it; upstream refuses loopback endpoints)", async () => {
  const store = await openStore("memory:");
  try {
    const s = await startOn(store, { advertiseAddress: "127.0.0.1" });
    expect((await s.get("/api/v1/namespaces/default/services/kubernetes")).status).toBe(200);
    expect((await s.get("/api/v1/namespaces/default/endpoints/kubernetes")).status).toBe(404);
    await s.api.stop();
  } finally {
    await store.close();
  }
});

test("the kubernetes Service and Endpoints are kept: re-made when deleted or edited, and never rewritten when right", async () => {
  const store = await openStore("memory:");
  const config = testConfig({ advertiseAddress: "192.168.7.5", httpsListenPort: 6443 });
  const s = await startOn(store, config);
  const { objects, resource } = s.api.context;
  const idle = await store.currentRevision();
  for (let i = 0; i < 3; i++) await ensureKubernetesService(objects, config, resource);
  expect(await store.currentRevision()).toBe(idle);
  const keeper = keepKubernetesService(objects, config, resource, log, 20);
  try {
    await s.api.fetch(new Request("https://bramble.test/api/v1/namespaces/default/services/kubernetes", { method: "DELETE" }));
    const ep = objects.tryGet(resource("", "endpoints"), "default", "kubernetes")!;
    await objects.update(resource("", "endpoints"), "default", "kubernetes", { ...ep, subsets: [{ addresses: [{ ip: "10.9.9.9" }], ports: [{ name: "https", port: 1, protocol: "TCP" }] }] });
    await until("the Service and Endpoints restored", async () => {
      const svc = (await s.get("/api/v1/namespaces/default/services/kubernetes")).body;
      const ep2 = (await s.get("/api/v1/namespaces/default/endpoints/kubernetes")).body;
      return svc.spec?.clusterIP === "10.43.0.1" && ep2.subsets?.[0]?.addresses?.[0]?.ip === "192.168.7.5";
    });
    const svc = (await s.get("/api/v1/namespaces/default/services/kubernetes")).body;
    expect(svc.spec.ports).toEqual([{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }]);
    expect((await s.get("/api/v1/namespaces/default/endpoints/kubernetes")).body.subsets).toEqual([{ addresses: [{ ip: "192.168.7.5" }], ports: [{ name: "https", port: 6443, protocol: "TCP" }] }]);
  } finally {
    keeper.stop();
    await s.api.stop();
    await store.close();
  }
});
