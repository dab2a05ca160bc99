// The agent endpoint against a scripted runtime: authentication, logs, and exec over a raw
// WebSocket (the tty, resize and v5 close-stdin paths that kubectl drives).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { importPKCS8, SignJWT } from "jose";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { KUBELET_TOKEN_ISSUER, kubeletTokenAudience } from "../../api/kubelet-api";
import { createLogger } from "../../machinery/log";
import { NODE_LABEL } from "../kubelet/names";
import { LABELS, type ContainerInfo, type ContainerRuntime, type ExecSession } from "../runtime/runtime";
import { CHANNEL, frame } from "./channel";
import { PortForwardTestClient } from "./portforward/testing-client";
import { startAgentServer, type AgentServer } from "./server";
import { ensureServingCert } from "./tls";

const NODE = "n1";
const dir = mkdtempSync(join(tmpdir(), "bramble-agent-server-"));
let server: AgentServer;
let servingCert: string;
let sign: (claims?: { aud?: string; exp?: string }) => Promise<string>;
const execs: { id: string; cmd: string[]; tty?: boolean; stdin?: boolean; resized: [number, number][] }[] = [];

const container = (id: string, name: string, attempt: number, state: ContainerInfo["state"]): ContainerInfo => ({
  id,
  name: id,
  image: "busybox",
  imageId: "sha256:1",
  state,
  createdAt: `2026-01-01T00:00:0${attempt}Z`,
  ips: {},
  labels: { [NODE_LABEL]: NODE, [LABELS.podNamespace]: "default", [LABELS.podName]: "p", [LABELS.container]: name, [LABELS.kind]: "app", [LABELS.restartCount]: String(attempt) },
});
// Pod p's sandbox has stopped (port-forward needs it running); it carries no container name.
const stoppedSandbox: ContainerInfo = { ...container("s0", "", 0, "exited"), labels: { [NODE_LABEL]: NODE, [LABELS.podNamespace]: "default", [LABELS.podName]: "p", [LABELS.podUid]: "u1", [LABELS.kind]: "pause" } };
const containers = [container("c0", "app", 0, "exited"), container("c1", "app", 1, "running"), container("w0", "waiting", 0, "created"), stoppedSandbox];

/** exec: `echo` echoes stdin to stdout until stdin ends; `exit N` ends with N at once. */
const runtime = {
  async listContainers(labels: Record<string, string | undefined>) {
    return containers.filter((c) => Object.entries(labels).every(([k, v]) => v === undefined || c.labels[k] === v));
  },
  async logs(id: string, opts: { tail?: number } = {}) {
    const lines = [`${id} one\n`, `${id} two\n`, `${id} three\n`];
    return Readable.from([lines.slice(opts.tail === undefined ? 0 : -opts.tail).join("")]);
  },
  async execStream(id: string, cmd: string[], opts: { tty?: boolean; stdin?: boolean }): Promise<ExecSession> {
    const rec = { id, cmd, ...opts, resized: [] as [number, number][] };
    execs.push(rec);
    const stdout = new PassThrough();
    const stderr = opts.tty ? undefined : new PassThrough();
    if (cmd[0] === "exit") {
      stderr?.end("bye\n");
      stdout.end("out\n");
      return { stdout, stderr, exitCode: Promise.resolve(Number(cmd[1])) };
    }
    const stdin = new PassThrough();
    stdin.pipe(stdout);
    stderr?.end();
    return { stdin, stdout, stderr, exitCode: new Promise((r) => stdout.on("end", () => r(0))), resize: async (h, w) => void rec.resized.push([h, w]) };
  },
} as unknown as ContainerRuntime;

beforeAll(async () => {
  // Any self-signed key pair stands in for the cluster CA here.
  const ca = await ensureServingCert(join(dir, "ca"), { nodeName: "ca", ips: [] });
  const serving = await ensureServingCert(join(dir, "node"), { nodeName: NODE, ips: ["127.0.0.1"] });
  servingCert = serving.certPem;
  const key = await importPKCS8(ca.keyPem, "ES256");
  sign = (c = {}) => new SignJWT({}).setProtectedHeader({ alg: "ES256" }).setIssuer(KUBELET_TOKEN_ISSUER).setAudience(c.aud ?? kubeletTokenAudience(NODE)).setIssuedAt().setExpirationTime(c.exp ?? "60s").sign(key);
  server = startAgentServer({ nodeName: NODE, runtime, caCertPem: ca.certPem, certPem: serving.certPem, keyPem: serving.keyPem, port: 0, hostname: "127.0.0.1", log: createLogger("test") });
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const get = async (path: string, token?: string) => fetch(`https://127.0.0.1:${server.port}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, tls: { ca: servingCert } });

test("only the API server's token for this node is accepted", async () => {
  expect((await get("/healthz")).status).toBe(200);
  const path = "/containerLogs/default/p/app";
  expect((await get(path)).status).toBe(401);
  expect((await get(path, "not-a-jwt")).status).toBe(401);
  expect((await get(path, await sign({ aud: kubeletTokenAudience("other-node") }))).status).toBe(401);
  expect((await get(path, await sign({ exp: "-5m" }))).status).toBe(401);
  const res = await get(path, await sign());
  expect(res.status).toBe(200);
  expect((await get(path)).headers.get("content-type")).toContain("application/json");
});

test("/stats/summary: the token is required; the node's own usage from /proc", async () => {
  expect((await get("/stats/summary")).status).toBe(401);
  const res = await get("/stats/summary", await sign());
  expect(res.status).toBe(200);
  const summary = (await res.json()) as { node: { nodeName: string; cpu?: { usageNanoCores?: number }; memory?: { workingSetBytes?: number } }; pods: unknown[] };
  expect(summary.node.nodeName).toBe(NODE);
  expect(summary.node.cpu?.usageNanoCores).toBeGreaterThanOrEqual(0);
  expect(summary.node.memory?.workingSetBytes).toBeGreaterThan(0);
  // The scripted containers have no process, so no cgroup to read.
  expect(summary.pods).toEqual([]);
});

test("logs of the current or previous attempt, with tailLines; Status errors as upstream words them", async () => {
  const token = await sign();
  expect(await (await get("/containerLogs/default/p/app?tailLines=1", token)).text()).toBe("c1 three\n");
  expect(await (await get("/containerLogs/default/p/app?previous=true", token)).text()).toBe("c0 one\nc0 two\nc0 three\n");
  expect(await (await get("/containerLogs/default/p/app?limitBytes=5", token)).text()).toBe("c1 on");
  const waiting = await get("/containerLogs/default/p/waiting", token);
  expect(waiting.status).toBe(400);
  expect(((await waiting.json()) as { message: string }).message).toBe('container "waiting" in pod "p" is waiting to start: ContainerCreating');
  const noPrevious = await get("/containerLogs/default/p/waiting?previous=1", token);
  expect(((await noPrevious.json()) as { message: string }).message).toBe('previous terminated container "waiting" in pod "p" not found');
  expect((await get("/containerLogs/default/p/app?tailLines=-1", token)).status).toBe(400);
  expect((await get("/containerLogs/default/p", token)).status).toBe(404);
});

interface Session {
  frames: { channel: number; text: string }[];
  closed: Promise<number>;
  ws: WebSocket;
}

async function openExec(query: string, protocol = "v5.channel.k8s.io"): Promise<Session> {
  const ws = new WebSocket(`wss://127.0.0.1:${server.port}/exec/default/p/app?${query}`, { protocols: [protocol], headers: { authorization: `Bearer ${await sign()}` }, tls: { ca: servingCert } });
  ws.binaryType = "arraybuffer";
  const frames: Session["frames"] = [];
  ws.onmessage = (e) => {
    const b = new Uint8Array(e.data as ArrayBuffer);
    frames.push({ channel: b[0]!, text: new TextDecoder().decode(b.subarray(1)) });
  };
  const closed = new Promise<number>((r) => (ws.onclose = (e) => r(e.code)));
  await new Promise((r, j) => ((ws.onopen = r), (ws.onerror = j)));
  expect(ws.protocol).toBe(protocol);
  return { frames, closed, ws };
}

const status = (s: Session) => JSON.parse(s.frames.find((f) => f.channel === CHANNEL.error)!.text);
const text = (s: Session, channel: number) => s.frames.filter((f) => f.channel === channel).map((f) => f.text).join("");

test("exec: output on channels 1 and 2, then the exit code as a NonZeroExitCode Status, then a normal close", async () => {
  const s = await openExec("command=exit&command=3&stdout=true&stderr=true");
  expect(await s.closed).toBe(1000);
  expect(text(s, CHANNEL.stdout)).toBe("out\n");
  expect(text(s, CHANNEL.stderr)).toBe("bye\n");
  expect(status(s)).toMatchObject({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "3" }] } });
  // The Status comes last: kubectl stops reading output once it has it.
  expect(s.frames.at(-1)!.channel).toBe(CHANNEL.error);
});

test("exec with a tty: stdin reaches the process, resizes reach the runtime, the v5 close signal ends stdin", async () => {
  const s = await openExec("command=echo&stdin=true&stdout=true&tty=true");
  s.ws.send(frame(CHANNEL.resize, '{"Width":100,"Height":30}'));
  s.ws.send(frame(CHANNEL.stdin, "hello\n"));
  s.ws.send(new Uint8Array([CHANNEL.close, CHANNEL.stdin]));
  expect(await s.closed).toBe(1000);
  expect(text(s, CHANNEL.stdout)).toBe("hello\n");
  expect(status(s)).toEqual({ metadata: {}, status: "Success" });
  const rec = execs.at(-1)!;
  expect(rec).toMatchObject({ id: "c1", cmd: ["echo"], tty: true, stdin: true });
  expect(rec.resized).toEqual([[30, 100]]);
});

test("v4 works the same for commands that need no stdin", async () => {
  const s = await openExec("command=exit&command=0&stdout=true", "v4.channel.k8s.io");
  await s.closed;
  expect(status(s).status).toBe("Success");
  // stderr was not asked for: nothing on channel 2.
  expect(text(s, CHANNEL.stderr)).toBe("");
});

test("exec into a container that is not running reports it on the error channel", async () => {
  const ws = new WebSocket(`wss://127.0.0.1:${server.port}/exec/default/p/waiting?command=sh&stdout=true`, { protocols: ["v5.channel.k8s.io"], headers: { authorization: `Bearer ${await sign()}` }, tls: { ca: servingCert } });
  ws.binaryType = "arraybuffer";
  const got = await new Promise<string>((r) => (ws.onmessage = (e) => r(new TextDecoder().decode(new Uint8Array(e.data as ArrayBuffer).subarray(1)))));
  expect(JSON.parse(got)).toMatchObject({ status: "Failure", message: 'container "waiting" in pod "p" is not running', code: 400 });
});

test("bad exec requests are refused before the upgrade", async () => {
  const token = await sign();
  expect((await get("/exec/default/p/app?stdout=true", token)).status).toBe(400);
  expect((await get("/exec/default/p/app?command=sh", token)).status).toBe(400);
  const noUpgrade = await get("/exec/default/p/app?command=sh&stdout=true", token);
  expect(noUpgrade.status).toBe(400);
  expect(((await noUpgrade.json()) as { message: string }).message).toContain("WebSocket");
});

test("port-forward: authenticated WebSocket only; a pod that is not here, or whose sandbox stopped, fails its streams, not the session", async () => {
  expect((await get("/portForward/default/p")).status).toBe(401);
  const plain = await get("/portForward/default/p", await sign());
  expect(plain.status).toBe(400);
  expect(((await plain.json()) as { message: string }).message).toBe("port-forward is served over WebSocket with the subprotocol SPDY/3.1+portforward.k8s.io or v4.channel.k8s.io");

  const open = async (pod: string) => PortForwardTestClient.connect(`wss://127.0.0.1:${server.port}/portForward/default/${pod}?podUID=u1`, { headers: { authorization: `Bearer ${await sign()}` }, ca: servingCert });
  const gone = await open("gone");
  expect((await gone.forward(80, "x").result).error).toBe("error forwarding port 80 to pod gone_default, uid u1: pod not found on this node");
  expect(gone.isOpen).toBe(true);
  gone.close();
  const stopped = await open("p");
  const r = await stopped.forward(80, "x").result;
  expect(r).toEqual({ data: Buffer.alloc(0), error: "error forwarding port 80 to pod p_default, uid u1: the pod's sandbox is not running", reset: false });
  stopped.close();
});
