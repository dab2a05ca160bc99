import { describe, expect, test } from "bun:test";
import { createLogger } from "../../machinery/log";
import { FakeRuntime } from "../runtime/fake/fake";
import { LABELS } from "../runtime/runtime";
import { ensureBridgeNetwork, gatewayOf, MASQUERADE_OPTION } from "./bridge-network";

const lines: string[] = [];
const log = createLogger("test", { write: (l) => lines.push(l) });
const want = { name: "bramble-pods", bridge: "bramble0", podCidr: "10.42.3.0/24" };

describe("ensureBridgeNetwork", () => {
  test("creates the network on the podCIDR, gateway first address, Docker's masquerade off, bramble's label", async () => {
    const rt = new FakeRuntime();
    expect(await ensureBridgeNetwork(rt, want, log)).toBe("10.42.3.1");
    expect(await rt.inspectNetwork("bramble-pods")).toMatchObject({
      subnet: "10.42.3.0/24",
      gateway: "10.42.3.1",
      labels: { [LABELS.managed]: "true" },
      options: { [MASQUERADE_OPTION]: "false", "com.docker.network.bridge.name": "bramble0" },
    });
  });

  test("an existing network on the same podCIDR is reused: attached pods keep it and their IPs", async () => {
    const rt = new FakeRuntime(["busybox:1"]);
    await ensureBridgeNetwork(rt, want, log);
    const id = await rt.createContainer({ name: "pause", image: "busybox:1", networkMode: "bramble-pods" });
    await rt.startContainer(id);
    const ip = (await rt.inspectContainer(id)).ips["bramble-pods"];
    rt.calls.length = 0;
    await ensureBridgeNetwork(rt, want, log);
    expect(rt.calls.filter((c) => /network/i.test(c))).toEqual([]);
    expect((await rt.inspectContainer(id)).ips["bramble-pods"]).toBe(ip);
    expect((await rt.inspectNetwork("bramble-pods"))!.containers).toEqual([id]);
  });

  test("a network on another subnet (the node registered again) is replaced, and the log says why", async () => {
    const rt = new FakeRuntime(["busybox:1"]);
    await ensureBridgeNetwork(rt, { ...want, podCidr: "10.42.9.0/24" }, log);
    const id = await rt.createContainer({ name: "old-pause", image: "busybox:1", networkMode: "bramble-pods" });
    await rt.startContainer(id);
    lines.length = 0;
    await ensureBridgeNetwork(rt, want, log);
    expect((await rt.inspectNetwork("bramble-pods"))!.subnet).toBe("10.42.3.0/24");
    expect(lines.join("\n")).toContain('replacing the pod network network=bramble-pods reason="its subnet 10.42.9.0/24 is not the node\'s podCIDR 10.42.3.0/24" detachedContainers=1');
  });

  test("a network with Docker's masquerade on is replaced", async () => {
    const rt = new FakeRuntime();
    await rt.createNetwork({ name: "bramble-pods", subnet: "10.42.3.0/24", bridge: "bramble0" });
    lines.length = 0;
    await ensureBridgeNetwork(rt, want, log);
    expect(lines.join("\n")).toContain("Docker's masquerade is on for it");
    expect((await rt.inspectNetwork("bramble-pods"))!.options[MASQUERADE_OPTION]).toBe("false");
  });

  test("the network carries its cluster; another cluster's network of that name is never taken over, an unlabelled one is kept", async () => {
    const mine = `sha256:${"1".repeat(64)}`;
    const theirs = `sha256:${"2".repeat(64)}`;
    const rt = new FakeRuntime(["busybox:1"]);
    await ensureBridgeNetwork(rt, { ...want, podCidr: "10.42.9.0/24", clusterId: theirs }, log);
    expect((await rt.inspectNetwork("bramble-pods"))!.labels).toEqual({ [LABELS.managed]: "true", [LABELS.cluster]: theirs });
    const id = await rt.createContainer({ name: "their-pause", image: "busybox:1", networkMode: "bramble-pods" });
    await rt.startContainer(id);
    // Another subnet would make it replace the network: it refuses instead, and touches nothing.
    await expect(ensureBridgeNetwork(rt, { ...want, clusterId: mine }, log)).rejects.toThrow(`the Docker network bramble-pods belongs to another bramble cluster on this machine (${theirs})`);
    expect(await rt.inspectNetwork("bramble-pods")).toMatchObject({ subnet: "10.42.9.0/24", labels: { [LABELS.cluster]: theirs }, containers: [id] });
    // A network from before clusters were labelled is this node's own, as it always was.
    const legacy = new FakeRuntime();
    await ensureBridgeNetwork(legacy, want, log);
    await ensureBridgeNetwork(legacy, { ...want, clusterId: mine }, log);
    expect((await legacy.inspectNetwork("bramble-pods"))!.labels).toEqual({ [LABELS.managed]: "true" }); // not made again
  });

  test("gatewayOf", () => {
    expect(gatewayOf("10.42.0.0/24")).toBe("10.42.0.1");
  });
});
