// The pod bridge network on the real Docker engine (shared with other tests, so a test-only
// network name, bridge and subnet): Docker's IPAM hands out addresses from the podCIDR, its
// masquerade stays off, a second start (an agent restart) keeps the network and the pods'
// addresses, and a new podCIDR replaces it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ensureTestImage } from "../images/testimage";
import { createLogger } from "../../machinery/log";
import { runCommand } from "../host/run";
import { dockerForTests, removeImageIfUnused } from "../runtime/docker/testing";
import { missingCommand, requirements } from "../../machinery/test-requirements";
import { LABELS } from "../runtime/runtime";
import { ensureBridgeNetwork, MASQUERADE_OPTION } from "./bridge-network";

const suffix = Math.floor(Math.random() * 0xffff).toString(16);
const want = { name: `bpn-test-${suffix}`, bridge: `bpn-br-${suffix}`, podCidr: "172.30.217.0/24" };
const lines: string[] = [];
const log = createLogger("test", { write: (l) => lines.push(l) });

// The bridge and Docker's rules are read with the host's own tools.
const tools = requirements("pod bridge network", missingCommand("ip"), missingCommand("iptables"));
const rt = tools ? undefined : await dockerForTests("pod bridge network");
let image = "";
const containers: string[] = [];

async function startPause(name: string): Promise<string> {
  const id = await rt!.createContainer({ name: `${want.name}-${name}`, image, cmd: ["sleep", "1000"], networkMode: want.name, labels: { [LABELS.managed]: "true" } });
  containers.push(id);
  await rt!.startContainer(id);
  return id;
}

describe.skipIf(!rt)("the pod network on Docker", () => {
  const docker = rt!;
  beforeAll(async () => {
    image = await ensureTestImage(rt!);
  });

  afterAll(async () => {
    for (const id of containers) await rt!.removeContainer(id);
    await rt!.removeNetwork(want.name, { force: true });
    await removeImageIfUnused(rt!, image);
  });

  test("Docker's IPAM gives pods addresses from the podCIDR, after the gateway, on bramble's bridge", async () => {
    expect(await ensureBridgeNetwork(docker, want, log)).toBe("172.30.217.1");
    const id = await startPause("a");
    expect((await docker.inspectContainer(id)).ips[want.name]).toBe("172.30.217.2");
    const link = await runCommand(["ip", "-4", "-o", "addr", "show", "dev", want.bridge]);
    expect(link.stdout).toContain("inet 172.30.217.1/24");
  });

  test("Docker's own masquerade is off for it (bramble's chain decides what leaves the cluster)", async () => {
    expect((await docker.inspectNetwork(want.name))!.options[MASQUERADE_OPTION]).toBe("false");
    const nat = await runCommand(["iptables", "-t", "nat", "-S", "POSTROUTING"]);
    expect(nat.code).toBe(0);
    expect(nat.stdout).not.toContain("172.30.217.0/24");
  });

  test("an agent restart reuses the network: the same network, running pods keep their addresses", async () => {
    const before = await docker.inspectNetwork(want.name);
    const id = containers[0]!;
    const ip = (await docker.inspectContainer(id)).ips[want.name];
    await ensureBridgeNetwork(docker, want, log);
    const after = await docker.inspectNetwork(want.name);
    expect(after!.id).toBe(before!.id);
    expect(after!.containers).toEqual([id]);
    expect((await docker.inspectContainer(id)).ips[want.name]).toBe(ip);
    // A second pod gets the next free address, not one already held.
    expect((await docker.inspectContainer(await startPause("b"))).ips[want.name]).toBe("172.30.217.3");
  });

  test("a new podCIDR replaces the network, detaching stale pods, and says why", async () => {
    lines.length = 0;
    const moved = { ...want, podCidr: "172.30.218.0/24" };
    expect(await ensureBridgeNetwork(docker, moved, log)).toBe("172.30.218.1");
    expect((await docker.inspectNetwork(want.name))!.subnet).toBe("172.30.218.0/24");
    expect(lines.join("\n")).toContain("its subnet 172.30.217.0/24 is not the node's podCIDR 172.30.218.0/24");
    expect((await docker.inspectContainer(await startPause("c"))).ips[want.name]).toBe("172.30.218.2");
  });
});
