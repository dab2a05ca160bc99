// Joining for real: a `bramble server` process, `bramble token create --print-join-command`, and
// the printed command run as a second process (`bramble agent`). Docker is not needed to join:
// the agent points at the engine's socket when there is one, or at a missing socket to see the
// node report NotReady with the reason.

import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readKubeconfig, resolveContext } from "../src/client/kubeconfig";
import { generateToken, formatToken, tokenSecret } from "../src/server/auth/bootstrap-token";
import { parseJson, ROOT, startTestServer, type TestServer } from "./helpers/server";
import { eventually as poll } from "./helpers/eventually";
import { missingFile, requirements } from "../src/machinery/test-requirements";

const MAIN = join(ROOT, "src", "main.ts");
const DOCKER_SOCKET = "/var/run/docker.sock";
// Without an engine the node still joins (NotReady); only its runtime version goes unchecked, and says so.
const haveDocker = !requirements("join: the node reports its Docker version", missingFile(DOCKER_SOCKET, "start dockerd"));
const work = mkdtempSync(join(tmpdir(), "bramble-join-"));
const agents = new Set<Subprocess>();
let s: TestServer;
let joinCommand: string[];

async function bramble(...args: string[]) {
  const p = Bun.spawn([process.execPath, MAIN, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, HOME: work } });
  const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A long-running agent; its output accumulates in log(). */
function startAgent(args: string[]) {
  const p = Bun.spawn([process.execPath, MAIN, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, HOME: work } });
  agents.add(p);
  let log = "";
  const decoder = new TextDecoder();
  for (const stream of [p.stdout, p.stderr]) void (async () => { for await (const c of stream) log += decoder.decode(c); })().catch(() => {});
  return {
    proc: p,
    log: () => log,
    async stop() {
      p.kill("SIGTERM");
      await p.exited;
      agents.delete(p);
    },
  };
}

const eventually = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 30_000) => poll(what, f, { timeoutMs });

const nodeJson = async (name: string) => {
  const r = await s.kubectl("get", "node", name, "-o", "json");
  return r.code === 0 ? JSON.parse(r.stdout) : undefined;
};

/** The printed join command, with our flags added, as argv for bramble. */
const joinArgs = (cmd: string[], ...extra: string[]) => [...cmd.slice(1), ...extra];

beforeAll(async () => {
  s = await startTestServer();
});

afterAll(async () => {
  for (const p of agents) p.kill("SIGKILL");
  await Promise.all([...agents].map((p) => p.exited));
  await s?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

test("token create --print-join-command prints a join command that works; the node shows in get nodes -o wide", async () => {
  const r = await bramble("token", "create", "--print-join-command", "--kubeconfig", s.kubeconfig, "--description", "first node");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^bramble agent --server https:\/\/127\.0\.0\.1:\d+ --token [a-z0-9]{6}\.[a-z0-9]{16} --ca-cert-hash sha256:[0-9a-f]{64}\n$/);
  joinCommand = r.stdout.trim().split(" ");

  const list = await bramble("token", "list", "--kubeconfig", s.kubeconfig);
  expect(list.stdout).toMatch(/^ID\s+TTL\s+EXPIRES\s+USAGES\s+DESCRIPTION\n/);
  expect(list.stdout).toContain("first node");
  // Stored hashed: the secret part of the token is nowhere in the Secret.
  const secrets = await s.kubectl("get", "secrets", "-n", "kube-system", "-o", "json");
  const token = joinCommand[joinCommand.indexOf("--token") + 1]!;
  expect(secrets.stdout).toContain(`bootstrap-token-${token.slice(0, 6)}`);
  expect(Buffer.from(secrets.stdout).toString()).not.toContain(Buffer.from(token.slice(7)).toString("base64"));

  const dataDir = join(work, "node-a");
  const agent = startAgent(joinArgs(joinCommand, "--data-dir", dataDir, "--node-name", "node-a", "--node-label", "tier=edge", "--docker-socket", haveDocker ? DOCKER_SOCKET : "/nonexistent/docker.sock"));
  const row = await eventually("node-a in get nodes -o wide", async () => {
    const r = await s.kubectl("get", "nodes", "-o", "wide", "--no-headers");
    return r.stdout.split("\n").find((l) => l.startsWith("node-a "));
  });
  // NAME STATUS ROLES AGE VERSION INTERNAL-IP EXTERNAL-IP OS-IMAGE... KERNEL CONTAINER-RUNTIME
  const cols = row.split(/\s{2,}/);
  expect(cols[5]).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  expect(cols[7]).not.toBe("<none>");
  expect(cols[8]).toBeTruthy();
  expect(cols[9]).toMatch(/^docker:\/\//);
  if (haveDocker) expect(cols[9]).not.toBe("docker://unknown");
  const node = await nodeJson("node-a");
  expect(node.metadata.labels).toMatchObject({ tier: "edge", "kubernetes.io/hostname": "node-a", "kubernetes.io/os": "linux" });
  expect(node.status.capacity.pods).toBe("110");
  expect(Number(node.status.capacity.cpu)).toBeGreaterThan(0);
  await eventually("node-a's Lease", async () => (await s.kubectl("get", "lease", "-n", "kube-node-lease", "node-a")).code === 0);
  // The credential is kept owner-only.
  for (const f of ["kubelet.kubeconfig", "server-ca.crt"]) expect(statSync(join(dataDir, "agent", f)).mode & 0o777).toBe(0o600);
  await agent.stop();
  expect(agent.proc.exitCode).toBe(0);
});

test("a restarted agent needs no token: same node, same credential", async () => {
  const before = await nodeJson("node-a");
  const cred = parseJson(await s.kubectl("get", "secret", "-n", "kube-system", "node-credential-node-a", "-o", "json"));
  const agent = startAgent(["agent", "--data-dir", join(work, "node-a"), "--node-name", "node-a", "--docker-socket", haveDocker ? DOCKER_SOCKET : "/nonexistent/docker.sock"]);
  await eventually("registered again", async () => agent.log().includes("node registered"));
  expect(agent.log()).not.toContain("joined the cluster");
  const after = await nodeJson("node-a");
  expect(after.metadata.uid).toBe(before.metadata.uid);
  const credAfter = parseJson(await s.kubectl("get", "secret", "-n", "kube-system", "node-credential-node-a", "-o", "json"));
  expect(credAfter.metadata.resourceVersion).toBe(cred.metadata.resourceVersion);
  await agent.stop();
});

test("a second machine with the same node name is refused", async () => {
  const r = await bramble(...joinArgs(joinCommand, "--data-dir", join(work, "impostor"), "--node-name", "node-a"));
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('a node named "node-a" has already joined this cluster');
  expect(existsSync(join(work, "impostor", "agent", "kubelet.kubeconfig"))).toBe(false);
});

test("a wrong CA pin is refused before anything is sent", async () => {
  const args = joinArgs(joinCommand, "--data-dir", join(work, "bad-pin"), "--node-name", "bad-pin");
  args[args.indexOf("--ca-cert-hash") + 1] = `sha256:${"0".repeat(64)}`;
  const r = await bramble(...args);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/^bramble: the CA of https:\/\/127\.0\.0\.1:\d+ does not match --ca-cert-hash/);
  expect(await nodeJson("bad-pin")).toBeUndefined();
});

test("deleted and expired tokens are refused", async () => {
  const created = await bramble("token", "create", "--print-join-command", "--kubeconfig", s.kubeconfig);
  const cmd = created.stdout.trim().split(" ");
  const token = cmd[cmd.indexOf("--token") + 1]!;
  const del = await bramble("token", "delete", token.slice(0, 6), "--kubeconfig", s.kubeconfig);
  expect(del.code).toBe(0);
  const r = await bramble(...joinArgs(cmd, "--data-dir", join(work, "deleted"), "--node-name", "deleted-token"));
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(`bootstrap token "${token.slice(0, 6)}" is not valid for this cluster or has expired`);

  // An expired token, written the way `token create` writes one but a day in the past.
  const old = generateToken();
  const secret = tokenSecret(old, { ttlSeconds: 3600, now: new Date(Date.now() - 24 * 3600_000) });
  expect((await s.kubectlWith({ stdin: JSON.stringify(secret) }, "create", "-f", "-")).code).toBe(0);
  expect((await bramble("token", "list", "--kubeconfig", s.kubeconfig)).stdout).toMatch(new RegExp(`${old.id}\\s+<invalid>`));
  const args = joinArgs(cmd, "--data-dir", join(work, "expired"), "--node-name", "expired-token");
  args[args.indexOf("--token") + 1] = formatToken(old);
  const e = await bramble(...args);
  expect(e.code).not.toBe(0);
  expect(e.stderr).toContain(`bootstrap token "${old.id}" is not valid for this cluster or has expired`);
});

test("node authorization: its own Node yes, another Node or a Deployment no", async () => {
  const creds = resolveContext(readKubeconfig(join(work, "node-a", "agent", "kubelet.kubeconfig")));
  const asNode = (path: string, init: RequestInit = {}) =>
    fetch(s.url + path, { ...init, headers: { authorization: `Bearer ${creds.token}`, "content-type": "application/merge-patch+json", ...(init.headers ?? {}) }, tls: { ca: s.ca() } });
  expect((await s.kubectlWith({ stdin: JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: "someone-else" } }) }, "create", "-f", "-")).code).toBe(0);

  const own = await asNode("/api/v1/nodes/node-a", { method: "PATCH", body: JSON.stringify({ metadata: { labels: { patched: "yes" } } }) });
  expect(own.status).toBe(200);
  const ownStatus = await asNode("/api/v1/nodes/node-a/status", { method: "PATCH", body: JSON.stringify({ status: { conditions: [] } }) });
  expect(ownStatus.status).toBe(200);

  const other = await asNode("/api/v1/nodes/someone-else", { method: "PATCH", body: JSON.stringify({ metadata: { labels: { hijacked: "yes" } } }) });
  expect(other.status).toBe(403);
  expect(await other.json()).toMatchObject({
    kind: "Status",
    reason: "Forbidden",
    code: 403,
    message: 'nodes "someone-else" is forbidden: User "system:node:node-a" cannot patch resource "nodes" in API group "" at the cluster scope: node "node-a" is not allowed to modify node "someone-else"',
  });
  const deploy = await asNode("/apis/apps/v1/namespaces/default/deployments", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" }, spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "i" }] } } } }),
  });
  expect(deploy.status).toBe(403);
  expect(((await deploy.json()) as { message: string }).message).toBe('deployments.apps is forbidden: User "system:node:node-a" cannot create resource "deployments" in API group "apps" in the namespace "default"');
  // Reading what a kubelet needs is fine.
  expect((await asNode("/api/v1/services")).status).toBe(200);
  expect((await asNode("/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a")).status).toBe(200);
  expect((await asNode("/api/v1/secrets")).status).toBe(403);
  // The admin can do everything, as before.
  expect((await s.kubectl("label", "node", "someone-else", "x=y")).code).toBe(0);
});

test("without a Docker engine the node is NotReady, saying which socket", async () => {
  const missing = join(work, "no-docker.sock");
  const agent = startAgent(joinArgs(joinCommand, "--data-dir", join(work, "node-b"), "--node-name", "node-b", "--docker-socket", missing));
  const ready = await eventually("node-b's Ready condition", async () => (await nodeJson("node-b"))?.status?.conditions?.find((c: { type: string }) => c.type === "Ready"));
  expect(ready.status).toBe("False");
  expect(ready.message).toContain(`unix://${missing}`);
  const row = (await s.kubectl("get", "node", "node-b", "--no-headers")).stdout;
  expect(row).toMatch(/^node-b\s+NotReady/);
  await agent.stop();
});

test("flag errors are one line naming the flag", async () => {
  const cases: [string[], string][] = [
    [["agent", "--server", "https://127.0.0.1:6443", "--token", "K10nope::server:x", "--ca-cert-hash", `sha256:${"0".repeat(64)}`], "bramble: --token: is neither a bootstrap token"],
    [["agent", "--server", "https://127.0.0.1:6443", "--token", "abcdef.0123456789abcdef", "--ca-cert-hash", "md5:1"], 'bramble: --ca-cert-hash: "md5:1" is not sha256:<64 hex digits>'],
    [["agent", "--server", "http://127.0.0.1:6443"], 'bramble: --server: "http://127.0.0.1:6443" is not an https://HOST:PORT URL'],
    [["agent", "--node-label", "=x"], "bramble: --node-label:"],
    [["agent", "--node-name", "Bad_Name"], 'bramble: --node-name: "Bad_Name" is not a valid node name'],
    [["agent", "--node-ip", "300.1.1.1"], 'bramble: --node-ip: "300.1.1.1" is not a valid IPv4 address'],
    [["agent", "--data-dir", join(work, "fresh"), "--node-name", "fresh"], "bramble: --server: required to join"],
    [["token", "create", "--ttl", "soon", "--kubeconfig", s.kubeconfig], 'bramble: --ttl: "soon" is not a duration'],
    [["token", "create", "--kubeconfig", join(work, "missing.kubeconfig")], "bramble: --kubeconfig: cannot use"],
    [["token", "frobnicate"], 'bramble: token: unknown subcommand "frobnicate"'],
  ];
  for (const [args, message] of cases) {
    const r = await bramble(...args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toStartWith(message);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  }
});
