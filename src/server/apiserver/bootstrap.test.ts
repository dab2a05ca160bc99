// The `kubernetes` Service and Endpoints: how pods reach the API server (kubernetes.default.svc,
// 10.43.0.1:443 → the advertise address and HTTPS port).
import { expect, test } from "bun:test";
import { openStore } from "../store";
import { createApiServer } from ".";
import { testConfig } from "./testing";
import type { ServerConfig } from "../config";

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
