// startPodNetwork against the in-process API server, the fake runtime and a fake host: the
// order of things and how routes follow Nodes. The real kernel: network.netns.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DEFAULT_CLUSTER_NETWORK } from "../cluster-network";
import { nodes as nodesDef, type Node } from "../../api/resources/core/node";
import { createLogger } from "../../machinery/log";
import { eventually, startHttpTestApi, type HttpTestApi } from "../node/testing";
import { FakeRuntime } from "../runtime/fake/fake";
import { FakeHost } from "./fake-host";
import { startPodNetwork, type PodNetwork } from "./pod-network";

let api: HttpTestApi;
const lines: string[] = [];
const log = createLogger("test", { write: (l) => lines.push(l) });
const nodeApi = () => api.client.resource<Node>(nodesDef);

async function addNode(name: string, ip: string): Promise<Node> {
  const n = await nodeApi().create(undefined, { metadata: { name } } as Node);
  return nodeApi().patch(undefined, name, { status: { addresses: [{ type: "InternalIP", address: ip }] } }, "merge", "status");
}
const podCidrOf = async (name: string) => (await nodeApi().get(undefined, name)).spec!.podCIDR!;

beforeAll(async () => {
  api = await startHttpTestApi();
});
afterAll(async () => {
  await api.stop();
});

describe("startPodNetwork", () => {
  let net: PodNetwork;
  const host = new FakeHost();
  const rt = new FakeRuntime();

  test("waits for the node's podCIDR, then builds the bridge network, forwarding, chains, the Service range and the routes", async () => {
    await addNode("peer-a", "192.168.7.11");
    const starting = startPodNetwork({ client: api.client, runtime: rt, nodeName: "self", nodeIp: "192.168.7.10", cluster: DEFAULT_CLUSTER_NETWORK, run: host.run, log, resyncIntervalMs: 100 });
    let done = false;
    void starting.then(() => (done = true));
    await Bun.sleep(100);
    expect(done).toBe(false);
    expect(host.calls).toEqual([]);

    await addNode("self", "192.168.7.10");
    net = await starting;
    const own = await podCidrOf("self");
    expect(net).toMatchObject({ dockerNetwork: "bramble-pods", podCidr: own, gateway: own.replace(/0\/24$/, "1") });
    expect((await rt.inspectNetwork("bramble-pods"))!.subnet).toBe(own);
    expect(host.ipForward).toBe("1");
    expect(host.restores[0]).toContain("-A BRAMBLEPOD-FORWARD -s 10.42.0.0/16");
    expect(host.jumps).toEqual(new Set(["BRAMBLEPOD-FORWARD", "BRAMBLEPOD-MASQ"]));
    expect(host.routes.get("10.43.0.0/16")).toEqual({ dst: "10.43.0.0/16", type: "unreachable" });
    expect(host.rules).toHaveLength(1);
    expect(host.peerRoutes()).toEqual({ [await podCidrOf("peer-a")]: "192.168.7.11" });
  });

  test("routes follow nodes joining, changing address and leaving", async () => {
    await addNode("peer-b", "192.168.7.12");
    const b = await podCidrOf("peer-b");
    const a = await podCidrOf("peer-a");
    await eventually(() => host.peerRoutes()[b] === "192.168.7.12", 3000, "route to peer-b");

    await nodeApi().patch(undefined, "peer-b", { status: { addresses: [{ type: "InternalIP", address: "192.168.7.22" }] } }, "merge", "status");
    await eventually(() => host.peerRoutes()[b] === "192.168.7.22", 3000, "route to peer-b's new address");

    await nodeApi().delete(undefined, "peer-a");
    await eventually(() => !(a in host.peerRoutes()), 3000, "peer-a's route gone");
    expect(host.peerRoutes()).toEqual({ [b]: "192.168.7.22" });
  });

  test("the periodic resync puts back a route removed behind bramble's back, and keeps jumps single", async () => {
    const b = await podCidrOf("peer-b");
    host.routes.delete(b);
    await eventually(() => host.peerRoutes()[b] === "192.168.7.22", 3000, "route restored");
    const restores = host.restores.length;
    await eventually(() => host.restores.length > restores, 3000, "another resync");
    expect(host.restores.at(-1)).not.toContain("-I ");
  });

  test("a refused route is logged once and does not block the others", async () => {
    host.unreachableGateways.add("203.0.113.50");
    lines.length = 0;
    await addNode("far", "203.0.113.50");
    await addNode("near", "192.168.7.13");
    const near = await podCidrOf("near");
    await eventually(() => host.peerRoutes()[near] === "192.168.7.13", 3000, "route to near");
    await Bun.sleep(300); // a few resyncs
    expect(lines.filter((l) => l.includes("routes to some nodes' pods failed"))).toHaveLength(1);
  });

  test("stop leaves the network in place and stops following nodes", async () => {
    await net.stop();
    const before = host.calls.length;
    await addNode("late", "192.168.7.14");
    await Bun.sleep(250);
    expect(host.calls.length).toBe(before);
    expect(await rt.networkExists("bramble-pods")).toBe(true);
    expect(Object.keys(host.peerRoutes()).length).toBeGreaterThan(0);
  });
});

test("with the Service proxy switched off, bramble's Service-range routes are removed, not made", async () => {
  const host = new FakeHost();
  host.routes.set("10.43.0.0/16", { dst: "10.43.0.0/16", type: "unreachable" });
  await addNode("noproxy", "192.168.7.30");
  const net = await startPodNetwork({ client: api.client, runtime: new FakeRuntime(), nodeName: "noproxy", nodeIp: "192.168.7.30", cluster: { ...DEFAULT_CLUSTER_NETWORK, serviceProxy: false }, run: host.run, log, dockerNetwork: "other", bridge: "other0" });
  await net.stop();
  expect(host.routes.has("10.43.0.0/16")).toBe(false);
  expect(host.calls.some((c) => c.includes("rule add"))).toBe(false);
});

test("a start-up still waiting for the podCIDR gives up when its signal aborts, leaving nothing running", async () => {
  const host = new FakeHost();
  const abort = new AbortController();
  const starting = startPodNetwork({ client: api.client, runtime: new FakeRuntime(), nodeName: "never-registered", nodeIp: "192.168.7.40", cluster: DEFAULT_CLUSTER_NETWORK, run: host.run, log, signal: abort.signal });
  await Bun.sleep(100);
  abort.abort();
  await expect(starting).rejects.toThrow(/cancelled/);
  await addNode("never-registered", "192.168.7.40");
  await Bun.sleep(200);
  expect(host.calls).toEqual([]);
});
