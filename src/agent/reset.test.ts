import { expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resetNode } from "./reset";

// A stand-in Docker engine on a unix socket: reset must never be tried on the shared real one.
test("reset removes only bramble-labelled containers and networks, and bramble's state dirs", async () => {
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
      if (url.pathname === "/containers/json") return Response.json(filters.label?.[0] === "io.bramble.managed" ? [{ Id: "c1" }, { Id: "c2" }] : [{ Id: "c1" }, { Id: "c2" }, { Id: "not-ours" }]);
      if (req.method === "DELETE" && url.pathname === "/containers/c2") return Response.json({ message: "removal of container c2 is already in progress" }, { status: 409 });
      if (url.pathname === "/networks") return Response.json(filters.label?.[0] === "io.bramble.managed" ? [{ Id: "n1" }] : []);
      return new Response(null, { status: 204 });
    },
  });
  try {
    const data = join(dir, "data");
    mkdirSync(join(data, "agent"), { recursive: true });
    mkdirSync(join(data, "server"), { recursive: true });
    writeFileSync(join(dir, "keep"), "not bramble's");
    const lines: string[] = [];
    const commands: string[] = [];
    const run = async (argv: string[]) => (commands.push(argv.join(" ")), { code: 0, stdout: "", stderr: "" });
    const { failures } = await resetNode({ dataDir: data, dockerSocket: socket, say: (l) => lines.push(l), run });
    expect(failures).toBe(0);
    expect(calls).toContain("POST /containers/c1/stop");
    expect(calls).toContain("DELETE /containers/c2");
    expect(calls).toContain("DELETE /networks/n1");
    expect(calls.some((c) => c.includes("not-ours"))).toBe(false);
    expect(lines[0]).toBe("containers: removed 2");
    expect(lines[1]).toBe("networks: removed 1");
    // The network steps ran through the runner (never on this shared host): the proxy's and the
    // pod network's iptables were read, and the DNS address looked up.
    expect(commands).toContain("iptables-save -t nat");
    expect(commands.some((c) => c.startsWith("ip route flush") || c.startsWith("ip -4 route") || c.startsWith("ip -4 -j route") || c.includes("route"))).toBe(true);
    expect(commands).toContain("ip link show dev bramble-dns");
    expect(existsSync(data)).toBe(false);
    expect(existsSync(join(dir, "keep"))).toBe(true);
  } finally {
    fake.stop(true);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an unreachable engine is reported and skipped", async () => {
  const lines: string[] = [];
  const run = async () => ({ code: 0, stdout: "", stderr: "" }); // a host with nothing of bramble on it
  const { failures } = await resetNode({ dataDir: join(tmpdir(), "bramble-reset-none"), dockerSocket: "/nonexistent/docker.sock", say: (l) => lines.push(l), run });
  expect(failures).toBe(0);
  expect(lines[0]).toStartWith("docker: not reachable at unix:///nonexistent/docker.sock");
});
