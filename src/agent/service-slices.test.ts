import { afterAll, beforeAll, expect, test } from "bun:test";
import type { EndpointSlice } from "../api/resources/discovery/endpointslice";
import { endpointSlices } from "../client/refs";
import { startHttpTestApi, type HttpTestApi } from "../server/apiserver/testing";
import { ServiceSlices } from "./service-slices";

let api: HttpTestApi;
beforeAll(async () => {
  api = await startHttpTestApi();
});
afterAll(async () => {
  await api.stop();
});

const slice = (name: string, service: string, ip: string): EndpointSlice =>
  ({
    metadata: { name, labels: { "kubernetes.io/service-name": service, team: "a" }, annotations: { big: "x".repeat(100) } },
    addressType: "IPv4",
    endpoints: [{ addresses: [ip], conditions: { ready: true }, nodeName: "n1", targetRef: { kind: "Pod", name: "p" } }],
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  }) as EndpointSlice;

async function until(what: string, f: () => boolean) {
  for (let i = 0; i < 200 && !f(); i++) await Bun.sleep(20);
  if (!f()) throw new Error(`never: ${what}`);
}

test("a Service's slices, slim, indexed by their service-name label; late consumers get the cache replayed", async () => {
  const client = api.client.resource<EndpointSlice>(endpointSlices);
  await client.create("default", slice("web-a", "web", "10.42.0.1"));
  await client.create("default", slice("web-b", "web", "10.42.0.2"));
  const slices = new ServiceSlices(api.client);
  const early: string[] = [];
  slices.on({ add: (s) => early.push(s.metadata.name!) });
  await slices.start();
  try {
    expect(slices.of("default/web")!.map((s) => s.endpoints![0]!.addresses[0]).sort()).toEqual(["10.42.0.1", "10.42.0.2"]);
    // Only what the proxy and the DNS read is kept.
    expect(slices.of("default/web")![0]!.metadata.labels).toEqual({ "kubernetes.io/service-name": "web" });
    expect(slices.of("default/web")![0]!.endpoints![0]).toEqual({ addresses: [expect.any(String)], conditions: { ready: true }, nodeName: "n1" });
    const late: string[] = [];
    slices.on({ add: (s) => late.push(s.metadata.name!) });
    expect(late.sort()).toEqual(early.sort());

    // Relabelled to another Service: it moves.
    const b = await client.get("default", "web-b");
    await client.update({ ...b, metadata: { ...b.metadata, labels: { "kubernetes.io/service-name": "api" } } });
    await until("web-b under api", () => slices.of("default/api")?.length === 1);
    expect(slices.of("default/web")!.map((s) => s.metadata.name)).toEqual(["web-a"]);
    await client.delete("default", "web-a");
    await until("web has no slices", () => slices.of("default/web") === undefined);
  } finally {
    slices.stop();
  }
});
