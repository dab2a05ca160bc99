// `bramble reset --force` end to end, as the README promises it: everything bramble made for the
// data dir — containers, Docker networks, iptables chains and rules, routes, links, the data dir —
// is gone, and nothing else is touched. It runs on a server in a network namespace with a Docker
// engine of its own (tests/helpers/netns-server), so the listings compared before and after are
// that node's alone: the namespace's iptables, routes and links, and its engine's containers and
// networks. Things bramble did not make (a container, a network, a chain, a route, a link, a file
// beside the data dir) are put there first and must survive.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ensureTestImage, TEST_IMAGE } from "../src/agent/images/testimage";
import { MAIN } from "../scripts/lab/config";
import type { RunResult } from "../scripts/lab/sh";
import { netnsServerSkipReason, startNetnsServer, type NetnsServer } from "./helpers/netns-server";

setDefaultTimeout(180_000);

interface Listing {
  iptables: string[];
  routes: string[];
  links: string[];
  addresses: string[];
  containers: string[];
  networks: string[];
}

async function must(r: Promise<RunResult>): Promise<string> {
  const out = await r;
  if (out.code !== 0) throw new Error(`exit ${out.code}: ${out.stderr}`);
  return out.stdout;
}

/**
 * What the node's namespace and engine hold, in comparable lines: counters left out, and IPv6
 * link-local addresses, which the kernel gives every link when duplicate-address detection
 * (done or not yet done) says so, not anything bramble or the test makes.
 */
async function listing(inNs: (...argv: string[]) => Promise<RunResult>, dockerSocket: string): Promise<Listing> {
  const lines = (s: string) => s.split("\n").map((l) => l.trim()).filter((l) => l && !/\bfe80:/.test(l)).sort();
  const docker = (...args: string[]) => must(inNs("docker", "-H", `unix://${dockerSocket}`, ...args));
  return {
    iptables: lines(await must(inNs("iptables-save"))).filter((l) => !l.startsWith("#")).map((l) => l.replace(/\[\d+:\d+\]/, "")),
    routes: lines(await must(inNs("ip", "route", "show", "table", "all"))),
    links: lines(await must(inNs("ip", "-o", "link", "show"))).map((l) => l.split(":")[1]!.trim().split("@")[0]!),
    addresses: lines(await must(inNs("ip", "-o", "addr", "show"))).map((l) => l.replace(/\s+valid_lft.*$/, "")),
    containers: lines(await docker("ps", "-a", "--format", "{{.Names}} {{.Image}}")),
    networks: lines(await docker("network", "ls", "--format", "{{.Name}} {{.Driver}}")),
  };
}

/** What `after` has that `before` has not, and the other way round, per listing. */
function diff(before: Listing, after: Listing) {
  const out: Record<string, { added: string[]; gone: string[] }> = {};
  for (const k of Object.keys(before) as (keyof Listing)[]) {
    const added = after[k].filter((l) => !before[k].includes(l));
    const gone = before[k].filter((l) => !after[k].includes(l));
    if (added.length || gone.length) out[k] = { added, gone };
  }
  return out;
}

describe.skipIf(!!netnsServerSkipReason)("bramble reset --force", () => {
  let node: NetnsServer | undefined;
  afterAll(async () => {
    await node?.destroy();
  });

  test("removes what bramble made for the data dir and leaves everything else as it was", async () => {
    let before!: Listing;
    node = await startNetnsServer("reset", {
      async beforeServer({ inNs, docker, dockerSocket }) {
        await ensureTestImage(docker);
        const id = await docker.createContainer({ name: "not-bramble", image: TEST_IMAGE, cmd: ["sleep", "100000"] });
        await docker.startContainer(id);
        await must(inNs("docker", "-H", `unix://${dockerSocket}`, "network", "create", "not-bramble-net"));
        await must(inNs("iptables", "-N", "NOT-BRAMBLE"));
        await must(inNs("iptables", "-A", "NOT-BRAMBLE", "-j", "RETURN"));
        await must(inNs("iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "198.51.100.0/24", "-j", "RETURN"));
        await must(inNs("ip", "link", "add", "not-bramble", "type", "veth", "peer", "name", "not-bramble-p"));
        await must(inNs("ip", "route", "add", "unreachable", "198.51.100.0/24"));
        before = await listing(inNs, dockerSocket);
      },
    });
    const beside = join(dirname(node.dataDir), "not-bramble.txt");
    writeFileSync(beside, "keep me\n");

    // A pod, so that there is a sandbox, an app container and the pod network to remove.
    const pod = await node.runScriptPod("hello", "echo ran=yes");
    expect(pod.line("ran")).toBe("yes");
    const during = diff(before, await listing(node.inNs, node.dockerSocket));
    expect(Object.keys(during).sort()).toEqual(expect.arrayContaining(["containers", "iptables", "links", "networks", "routes"]));
    expect(during.containers!.added.length).toBeGreaterThanOrEqual(2);

    // Containers outlive a stopped server (it adopts them when it comes back): reset removes them.
    await node.stopServer();
    const reset = await node.inNs(process.execPath, MAIN, "reset", "--force", "--data-dir", node.dataDir, "--docker-socket", node.dockerSocket);
    expect({ code: reset.code, stderr: reset.stderr }).toEqual({ code: 0, stderr: "" });

    expect(diff(before, await listing(node.inNs, node.dockerSocket))).toEqual({});
    expect(existsSync(node.dataDir)).toBe(false);
    expect(existsSync(beside)).toBe(true);
    const survivor = await must(node.inNs("docker", "-H", `unix://${node.dockerSocket}`, "inspect", "-f", "{{.State.Running}}", "not-bramble"));
    expect(survivor.trim()).toBe("true");
  });
});
