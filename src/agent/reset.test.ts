import { expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureCa } from "../server/pki/index";
import { caCertHashOfPem } from "./join/pin";
import { dataDirClusterId, dataDirNodeName, resetNode } from "./reset";

const OTHER = `sha256:${"2".repeat(64)}`;

interface Engine {
  containers: Array<{ Id: string; Labels: Record<string, string> }>;
  networks: Array<{ Id: string; Labels: Record<string, string> }>;
}

/** A stand-in Docker engine on a unix socket: reset must never be tried on the shared real one. */
async function withFakeEngine(engine: Engine, f: (socket: string, dir: string, calls: string[]) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "bramble-reset-"));
  const socket = join(dir, "docker.sock");
  const calls: string[] = [];
  const fake = Bun.serve({
    unix: socket,
    fetch(req) {
      const url = new URL(req.url);
      calls.push(`${req.method} ${url.pathname}`);
      if (url.pathname === "/_ping") return new Response("OK");
      const filters = JSON.parse(url.searchParams.get("filters") ?? "{}");
      const managed = <T extends { Labels: Record<string, string> }>(l: T[]) => (filters.label?.[0] === "io.bramble.managed" ? l.filter((x) => x.Labels["io.bramble.managed"]) : l);
      if (url.pathname === "/containers/json") return Response.json(managed(engine.containers));
      if (req.method === "DELETE" && url.pathname === "/containers/c2") return Response.json({ message: "removal of container c2 is already in progress" }, { status: 409 });
      if (url.pathname === "/networks") return Response.json(managed(engine.networks));
      return new Response(null, { status: 204 });
    },
  });
  try {
    await f(socket, dir, calls);
  } finally {
    fake.stop(true);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A server data dir with a CA of its own; returns its cluster id. */
async function serverDataDir(data: string): Promise<string> {
  mkdirSync(join(data, "server", "tls"), { recursive: true });
  mkdirSync(join(data, "agent"), { recursive: true });
  const ca = await ensureCa(join(data, "..", "ca"));
  writeFileSync(join(data, "server", "tls", "server-ca.crt"), ca.certPem);
  return caCertHashOfPem(ca.certPem);
}

const managed = (cluster?: string, extra: Record<string, string> = {}) => ({ "io.bramble.managed": "true", ...(cluster ? { "io.bramble.cluster": cluster } : {}), ...extra });
const recorder = (commands: string[]) => async (argv: string[]) => (commands.push(argv.join(" ")), { code: 0, stdout: "", stderr: "" });

test("reset removes its cluster's containers and networks, and leaves other clusters' and other nodes' (and the host network of another cluster's pod network)", async () => {
  const engine: Engine = { containers: [], networks: [] };
  await withFakeEngine(engine, async (socket, dir, calls) => {
    const data = join(dir, "data");
    const mine = await serverDataDir(data);
    expect(dataDirClusterId(data)).toBe(mine);
    engine.containers = [
      { Id: "c1", Labels: managed(mine, { "io.bramble.node": "n1" }) },
      { Id: "c2", Labels: managed(mine, { "io.bramble.node": "n1" }) },
      // From before cluster labels: this node's (as its kubelet decides), or another node's.
      { Id: "legacy", Labels: managed(undefined, { "io.bramble.node": "n1" }) },
      { Id: "legacy-elsewhere", Labels: managed(undefined, { "io.bramble.node": "n2" }) },
      { Id: "theirs", Labels: managed(OTHER, { "io.bramble.node": "n1" }) },
      { Id: "not-ours", Labels: {} },
    ];
    engine.networks = [
      { Id: "n1", Labels: managed(mine) },
      { Id: "their-pods", Labels: managed(OTHER) },
    ];
    const lines: string[] = [];
    const commands: string[] = [];
    const { failures } = await resetNode({ dataDir: data, dockerSocket: socket, defaultNodeName: "n1", say: (l) => lines.push(l), run: recorder(commands) });
    expect(failures).toBe(0);
    expect(calls).toContain("POST /containers/c1/stop");
    expect(calls).toContain("DELETE /containers/c2");
    expect(calls).toContain("DELETE /containers/legacy");
    expect(calls).toContain("DELETE /networks/n1");
    for (const id of ["legacy-elsewhere", "theirs", "not-ours", "their-pods"]) expect(calls.filter((c) => c.endsWith(`/${id}`) || c.includes(`/${id}/`))).toEqual([]);
    expect(lines[0]).toBe(`containers: removed 3, networks: removed 1; left 2 containers and 1 networks of other clusters ${OTHER.slice(0, 19)} and nodes from before cluster labels on this engine (reset each with its own --data-dir)`);
    // The other cluster runs a pod network here: routes, chains and the DNS address are its own.
    expect(lines[1]).toStartWith(`pod network, service proxy, cluster dns: left in place: they belong to cluster ${OTHER.slice(0, 19)}`);
    expect(commands).toEqual([]);
    expect(existsSync(data)).toBe(false);
  });
});

test("a joined agent's data dir: its recorded node name decides which unlabelled containers are its own", async () => {
  const engine: Engine = { containers: [{ Id: "legacy", Labels: managed(undefined, { "io.bramble.node": "pi-1" }) }, { Id: "legacy-n1", Labels: managed(undefined, { "io.bramble.node": "n1" }) }], networks: [] };
  await withFakeEngine(engine, async (socket, dir, calls) => {
    const data = join(dir, "data");
    mkdirSync(join(data, "agent"), { recursive: true });
    writeFileSync(join(data, "agent", "node-name"), "pi-1\n");
    expect(dataDirNodeName(data, "n1")).toBe("pi-1");
    expect(dataDirNodeName(join(dir, "none"), "n1")).toBe("n1");
    const { failures } = await resetNode({ dataDir: data, dockerSocket: socket, defaultNodeName: "n1", say: () => {}, run: recorder([]) });
    expect(failures).toBe(0);
    expect(calls).toContain("DELETE /containers/legacy");
    expect(calls.some((c) => c.includes("legacy-n1"))).toBe(false);
  });
});

test("alone on the engine, reset also removes its network from before cluster labels, and the host's network", async () => {
  const engine: Engine = { containers: [], networks: [] };
  await withFakeEngine(engine, async (socket, dir, calls) => {
    const data = join(dir, "data");
    const mine = await serverDataDir(data);
    engine.containers = [{ Id: "c1", Labels: managed(mine, { "io.bramble.node": "n1" }) }, { Id: "legacy", Labels: managed(undefined, { "io.bramble.node": "n1" }) }, { Id: "not-ours", Labels: {} }];
    engine.networks = [{ Id: "legacy-pods", Labels: managed() }];
    writeFileSync(join(dir, "keep"), "not bramble's");
    const lines: string[] = [];
    const commands: string[] = [];
    const { failures } = await resetNode({ dataDir: data, dockerSocket: socket, defaultNodeName: "n1", say: (l) => lines.push(l), run: recorder(commands) });
    expect(failures).toBe(0);
    expect(calls).toContain("DELETE /containers/c1");
    expect(calls).toContain("DELETE /containers/legacy");
    expect(calls).toContain("DELETE /networks/legacy-pods");
    expect(calls.some((c) => c.includes("not-ours"))).toBe(false);
    expect(lines[0]).toBe("containers: removed 2, networks: removed 1");
    // The network steps ran through the runner (never on this shared host): the proxy's and the
    // pod network's iptables were read, and the DNS address looked up.
    expect(commands).toContain("iptables-save -t nat");
    expect(commands).toContain("ip -j -4 route show table 98 proto 98");
    expect(commands).toContain("ip link show dev bramble-dns");
    expect(existsSync(data)).toBe(false);
    expect(existsSync(join(dir, "keep"))).toBe(true);
  });
});

test("beside another cluster, a pod network from before cluster labels keeps the host's network too", async () => {
  const engine: Engine = { containers: [{ Id: "theirs", Labels: managed(OTHER) }], networks: [{ Id: "legacy-pods", Labels: managed() }] };
  await withFakeEngine(engine, async (socket, dir, calls) => {
    const data = join(dir, "data");
    await serverDataDir(data);
    const lines: string[] = [];
    const commands: string[] = [];
    const { failures } = await resetNode({ dataDir: data, dockerSocket: socket, defaultNodeName: "n1", say: (l) => lines.push(l), run: recorder(commands) });
    expect(failures).toBe(0);
    expect(calls.some((c) => c.includes("legacy-pods") || c.includes("theirs"))).toBe(false);
    expect(lines[1]).toBe("pod network, service proxy, cluster dns: left in place: they belong to another node from before cluster labels, whose pod network runs on this machine");
    expect(commands).toEqual([]);
  });
});

test("a data dir without a CA resets no labelled container of any cluster", async () => {
  const engine: Engine = { containers: [{ Id: "theirs", Labels: managed(OTHER) }], networks: [] };
  await withFakeEngine(engine, async (socket, dir, calls) => {
    const lines: string[] = [];
    const { failures } = await resetNode({ dataDir: join(dir, "empty"), dockerSocket: socket, defaultNodeName: "n1", say: (l) => lines.push(l), run: recorder([]) });
    expect(failures).toBe(0);
    expect(calls.some((c) => c.includes("theirs"))).toBe(false);
    expect(lines[0]).toContain("containers: removed 0, networks: removed 0; ");
    expect(lines[0]).toContain("holds no cluster CA");
  });
});

test("an unreachable engine is reported and skipped", async () => {
  const lines: string[] = [];
  const run = async () => ({ code: 0, stdout: "", stderr: "" }); // a host with nothing of bramble on it
  const { failures } = await resetNode({ dataDir: join(tmpdir(), "bramble-reset-none"), dockerSocket: "/nonexistent/docker.sock", defaultNodeName: "n1", say: (l) => lines.push(l), run });
  expect(failures).toBe(0);
  expect(lines[0]).toStartWith("docker: not reachable at unix:///nonexistent/docker.sock");
});
