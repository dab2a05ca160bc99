// The agent's attach endpoint against a scripted runtime over a raw WebSocket: input and output,
// the terminal size, Success at the end, the Statuses for a stopped or missing container, and a
// client that leaves (the runtime's streams are let go).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { importPKCS8, SignJWT } from "jose";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { KUBELET_TOKEN_ISSUER, kubeletTokenAudience } from "../../api/kubelet-api";
import { createLogger } from "../../machinery/log";
import { NODE_LABEL } from "../kubelet/names";
import { LABELS, NotRunningError, type AttachOptions, type AttachSession, type ContainerInfo, type ContainerRuntime } from "../runtime/runtime";
import { startAgentServer, type AgentServer } from "./server";
import { ensureServingCert } from "./tls";

const NODE = "n1";
const dir = mkdtempSync(join(tmpdir(), "bramble-agent-attach-"));
let server: AgentServer;
let servingCert: string;
let token: string;

const container = (id: string, name: string, state: ContainerInfo["state"]): ContainerInfo => ({
  id,
  name: id,
  image: "busybox",
  imageId: "sha256:1",
  state,
  createdAt: "2026-01-01T00:00:00Z",
  ips: {},
  labels: { [NODE_LABEL]: NODE, [LABELS.podNamespace]: "default", [LABELS.podName]: "p", [LABELS.container]: name, [LABELS.kind]: "app", [LABELS.restartCount]: "0" },
});
// "racing" is running when listed but stopped by the time the runtime attaches.
const containers = [container("a1", "app", "running"), container("s1", "stopped", "exited"), container("r1", "racing", "running")];
const sessions: { id: string; opts: AttachOptions; resized: [number, number][]; stdout: PassThrough }[] = [];

/** A `cat`: stdin comes back on stdout; the session ends when stdin does. */
const runtime = {
  async listContainers(labels: Record<string, string | undefined>) {
    return containers.filter((c) => Object.entries(labels).every(([k, v]) => v === undefined || c.labels[k] === v));
  },
  async attachStream(id: string, opts: AttachOptions): Promise<AttachSession> {
    if (id === "r1") throw new NotRunningError(`container ${id} is not running`);
    const stdout = new PassThrough();
    const stdin = new PassThrough();
    stdin.pipe(stdout);
    const rec = { id, opts, resized: [] as [number, number][], stdout };
    sessions.push(rec);
    const ended = new Promise<void>((r) => stdout.once("close", r));
    return { stdin, stdout, tty: true, ended, resize: async (h, w) => void rec.resized.push([h, w]) };
  },
} as unknown as ContainerRuntime;

beforeAll(async () => {
  const ca = await ensureServingCert(join(dir, "ca"), { nodeName: "ca", ips: [] });
  const serving = await ensureServingCert(join(dir, "node"), { nodeName: NODE, ips: ["127.0.0.1"] });
  servingCert = serving.certPem;
  const key = await importPKCS8(ca.keyPem, "ES256");
  token = await new SignJWT({}).setProtectedHeader({ alg: "ES256" }).setIssuer(KUBELET_TOKEN_ISSUER).setAudience(kubeletTokenAudience(NODE)).setIssuedAt().setExpirationTime("60s").sign(key);
  server = startAgentServer({ nodeName: NODE, runtime, caCertPem: ca.certPem, certPem: serving.certPem, keyPem: serving.keyPem, port: 0, hostname: "127.0.0.1", log: createLogger("test") });
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function attach(container: string, query: string, protocol = "v5.channel.k8s.io") {
  const ws = new WebSocket(`wss://127.0.0.1:${server.port}/attach/default/p/${container}?${query}`, {
    protocols: [protocol],
    headers: { authorization: `Bearer ${token}` },
    tls: { ca: servingCert },
  } as unknown as string[]);
  ws.binaryType = "arraybuffer";
  const got: Record<number, string> = {};
  ws.onmessage = (e) => {
    const b = new Uint8Array(e.data as ArrayBuffer);
    got[b[0]!] = (got[b[0]!] ?? "") + new TextDecoder().decode(b.subarray(1));
  };
  const closed = new Promise<number>((r) => ws.addEventListener("close", (e) => r(e.code)));
  await new Promise((r, j) => ((ws.onopen = r), (ws.onerror = j)));
  const send = (channel: number, data: string | number[]) => ws.send(new Uint8Array([channel, ...(typeof data === "string" ? new TextEncoder().encode(data) : data)]));
  return { ws, got, closed, send };
}

test("input in, output out, resize to the runtime; the end of stdin (v5 close) ends the session with Success", async () => {
  const a = await attach("app", "stdin=true&stdout=true&stderr=true&tty=true");
  a.send(4, JSON.stringify({ Width: 90, Height: 30 }));
  a.send(0, "hello\n");
  while (!a.got[1]?.includes("hello\n")) await Bun.sleep(5);
  a.send(255, [0]);
  expect(await a.closed).toBe(1000);
  expect(JSON.parse(a.got[3]!)).toEqual({ metadata: {}, status: "Success" });
  const s = sessions.at(-1)!;
  // A terminal has no stderr to ask the runtime for.
  expect(s.opts).toEqual({ stdin: true, stdout: true, stderr: false });
  expect(s.resized).toEqual([[30, 90]]);
});

test("a stopped container, one that stops while attaching, and a missing one: a Status on the error channel", async () => {
  for (const [name, status] of [
    ["stopped", { code: 400, reason: "BadRequest", message: 'container "stopped" in pod "p" is not running' }],
    ["racing", { code: 400, reason: "BadRequest", message: 'container "racing" in pod "p" is not running' }],
    ["ghost", { code: 404, reason: "NotFound", message: "container ghost not found in pod p_default" }],
  ] as const) {
    const a = await attach(name, "stdout=true", "v4.channel.k8s.io");
    expect(await a.closed).toBe(1000);
    expect(JSON.parse(a.got[3]!)).toMatchObject({ status: "Failure", ...status });
  }
});

test("bad queries are 400s before any upgrade", async () => {
  const res = await fetch(`https://127.0.0.1:${server.port}/attach/default/p/app?stdout=false`, { headers: { authorization: `Bearer ${token}` }, tls: { ca: servingCert } });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { message: string }).message).toBe("you must specify at least 1 of stdin, stdout, stderr");
  const plain = await fetch(`https://127.0.0.1:${server.port}/attach/default/p/app?stdout=true`, { headers: { authorization: `Bearer ${token}` }, tls: { ca: servingCert } });
  expect(plain.status).toBe(400);
  expect(((await plain.json()) as { message: string }).message).toContain("attach is served over WebSocket");
});

test("a client that leaves lets go of the runtime's streams", async () => {
  const a = await attach("app", "stdin=true&stdout=true");
  a.send(0, "x\n");
  while (!a.got[1]) await Bun.sleep(5);
  const s = sessions.at(-1)!;
  a.ws.close();
  await a.closed;
  while (!s.stdout.destroyed) await Bun.sleep(5);
  expect(s.stdout.destroyed).toBe(true);
});
