// Abuse of what anyone on the network can reach without a credential, against a real `bramble
// server` process with its embedded agent: the API server's unauthenticated endpoints (/cacerts,
// the join exchange, /healthz, /livez, /readyz) and the agent's logs/exec port (the kubelet API,
// src/agent/server/). Oversized, malformed (bad JSON, methods, headers, request lines, broken
// TLS), slow (slowloris) and repeated requests. Promises checked: the process never dies,
// /healthz answers 200 during and after, no answer is a 5xx, and RSS stays bounded (printed).
// tests/fuzz.test.ts covers the authenticated API's resource paths; this file does not repeat it.
//
// The agent runs without a Docker engine (a missing socket): its endpoint, not its pods, is the target.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { connect as tcpConnect } from "node:net";
import { eventually } from "./helpers/eventually";
import { collect, mb, parseResponse, rawRequest, rssBytes, tlsSocket, type RawResponse } from "./helpers/raw-https";
import { parseJson, startTestServer, type TestServer } from "./helpers/server";

setDefaultTimeout(120_000);

let s: TestServer;
let kubeletPort: number;
let rssAtStart: number;
/**
 * Every answer, by what was sent: none may be a 5xx. The one exception is a request line whose
 * HTTP version is not 1.x (or that does not parse as one): Bun's HTTP parser answers 505 HTTP
 * Version Not Supported before any handler runs, as Go's net/http (kube-apiserver's server) does
 * for an unsupported version; those are marked `requestLine`.
 */
const answers: { what: string; status: number; requestLine?: boolean }[] = [];

beforeAll(async () => {
  process.env.BRAMBLE_KUBELET_PORT = "0";
  process.env.BRAMBLE_DOCKER_SOCKET = "/nonexistent/docker.sock";
  try {
    s = await startTestServer({ agent: true });
  } finally {
    delete process.env.BRAMBLE_KUBELET_PORT;
    delete process.env.BRAMBLE_DOCKER_SOCKET;
  }
  kubeletPort = await eventually(
    "the embedded node's kubelet port",
    async () => parseJson(await s.kubectl("get", "nodes", "-o", "json")).items[0]?.status?.daemonEndpoints?.kubeletEndpoint?.Port as number | undefined,
    { timeoutMs: 60_000, context: () => s.log.slice(-3000) },
  );
  // A first round of ordinary requests, so start-up allocations are not counted as growth.
  for (let i = 0; i < 20; i++) await record("warm-up", s.port, get("/cacerts"));
  rssAtStart = rssBytes(s.proc.pid);
}, 120_000);

afterAll(async () => {
  await s?.cleanup();
});

const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}`;
const post = (path: string, body: string, extra = "") =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
const JOIN = "/v1-bramble/join";
const kubeletPaths = ["/containerLogs/default/p/c", "/exec/default/p/c?command=sh", "/healthz", "/", "/containerLogs/../../../etc/passwd", "/exec/%2e%2e/%00/x"];

/** Sends a request (head and body as one string, raw bytes) and records the answer. */
async function record(what: string, port: number, raw: string, timeoutMs = 15_000, requestLine = false): Promise<RawResponse> {
  const sock = await tlsSocket(port);
  const answer = collect(sock, timeoutMs);
  sock.write(raw.includes("\r\n\r\n") ? raw : raw + "\r\n");
  const r = parseResponse(await answer);
  answers.push({ what, status: r.status, requestLine });
  return r;
}

async function healthy(): Promise<void> {
  const r = await record("healthz check", s.port, get("/healthz"));
  expect(r.status).toBe(200);
  expect(s.proc.exitCode).toBeNull();
}

test("oversized: bodies of 20 MB (declared or chunked), a 64 KB URL and 64 KB headers", async () => {
  for (const port of [s.port, kubeletPort]) {
    for (const path of port === s.port ? [JOIN, "/cacerts", "/healthz"] : ["/exec/default/p/c", "/containerLogs/default/p/c"]) {
      const declared = await rawRequest(port, `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${20 * 1024 * 1024}`, { bytes: 20 * 1024 * 1024 });
      answers.push({ what: `20 MB to ${port}${path}`, status: declared.status });
      const chunked = await rawRequest(port, `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked`, { bytes: 20 * 1024 * 1024, chunked: true });
      answers.push({ what: `20 MB chunked to ${port}${path}`, status: chunked.status });
      // An answer, and a refusal: nothing unauthenticated accepts 20 MB.
      for (const r of [declared, chunked]) expect(r.status).toBeGreaterThanOrEqual(400);
    }
    const longUrl = await record("64 KB URL", port, get(`/${"a".repeat(64 * 1024)}`));
    const bigHeader = await record("64 KB header", port, get("/healthz", `X-Big: ${"b".repeat(64 * 1024)}\r\n`));
    for (const r of [longUrl, bigHeader]) if (r.status !== 0) expect(r.status).toBeGreaterThanOrEqual(400);
  }
  const join = await rawRequest(s.port, `POST ${JOIN} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${50 * 1024 * 1024}`, { bytes: 50 * 1024 * 1024 });
  expect(join.json).toMatchObject({ kind: "Status", reason: "RequestEntityTooLarge", code: 413 });
  await healthy();
});

test("malformed JSON and fields on the join endpoint are 4xx Statuses", async () => {
  const bodies = [
    "",
    "{",
    "null",
    "[]",
    '"token"',
    "42",
    '{"token":5,"nodeName":"x"}',
    '{"token":"abcdef.0123456789abcdef"}',
    '{"token":"abcdef.0123456789abcdef","nodeName":""}',
    '{"token":"abcdef.0123456789abcdef","nodeName":"Bad_Name"}',
    '{"token":"abcdef.0123456789abcdef","nodeName":"ok","credential":{}}',
    `{"token":"${"t".repeat(5000)}","nodeName":"x"}`,
    '{"__proto__":{"token":"x"},"nodeName":"x"}',
    "[".repeat(8000) + "]".repeat(8000),
    '{"token":"\\ud800","nodeName":"\\u0000"}',
  ];
  for (const body of bodies) {
    const r = await record(`join body ${body.slice(0, 40)}`, s.port, post(JOIN, body));
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.json).toMatchObject({ kind: "Status", code: r.status });
  }
  // Bytes that are not UTF-8.
  const sock = await tlsSocket(s.port);
  const answer = collect(sock);
  sock.write(`POST ${JOIN} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 4\r\n\r\n`);
  sock.write(Buffer.from([0xff, 0xfe, 0xc3, 0x28]));
  const r = parseResponse(await answer);
  answers.push({ what: "join body not UTF-8", status: r.status });
  expect(r.json).toMatchObject({ kind: "Status", reason: "BadRequest", code: 400 });
  await healthy();
});

test("bad methods, request lines and headers on both ports", async () => {
  const paths = { [s.port]: ["/cacerts", JOIN, "/healthz", "/livez", "/readyz", "/readyz/x"], [kubeletPort]: kubeletPaths };
  for (const port of [s.port, kubeletPort]) {
    for (const path of paths[port]!) {
      for (const method of ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT", "FOO", "GET\x00"]) {
        await record(`${JSON.stringify(method)} ${path}`, port, `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n`, 5_000, method.includes("\x00"));
      }
    }
    const requestLines = ["GET /healthz HTTP/9.9\r\nHost: x\r\nConnection: close\r\n", "GET /healthz\r\n", "GARBAGE\r\n", "\x16\x03\x01\r\n", "GET /healthz HTTP/1.1 extra\r\nHost: x\r\n"];
    for (const text of requestLines) await record(`request line ${JSON.stringify(text.slice(0, 30))}`, port, text, 5_000, true);
    const raw = [
      `POST ${JOIN} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: -1\r\n`,
      `POST ${JOIN} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: abc\r\n`,
      `POST ${JOIN} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\nContent-Length: 7\r\n`,
      `POST ${JOIN} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
      `POST ${JOIN} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: gzip\r\n`,
      `POST ${JOIN} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot hex\r\n`,
      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nNo colon here\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Nul: a\x00b\r\n",
      `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${Array.from({ length: 500 }, (_, i) => `X-${i}: ${i}\r\n`).join("")}`,
      "GET /containerLogs/default/p/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer a.b.c\r\n",
      `GET /containerLogs/default/p/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${"x".repeat(8000)}\r\n`,
      "GET /exec/default/p/c?command=sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x\r\n",
    ];
    for (const text of raw) await record(`raw ${JSON.stringify(text.slice(0, 50))}`, port, text, 5_000);
  }
  await healthy();
});

test("broken TLS: cut handshakes, plain HTTP on the TLS port, connect-and-close, all on both ports", async () => {
  const send = (port: number, bytes: Buffer | string, closeAfterMs: number) =>
    new Promise<void>((resolve) => {
      const c = tcpConnect({ host: "127.0.0.1", port }, () => {
        c.write(bytes);
        setTimeout(() => c.destroy(), closeAfterMs);
      });
      c.on("error", () => {});
      c.on("close", () => resolve());
    });
  // The first bytes of a ClientHello, a record that claims more than it carries, and plain text.
  const cut = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
  const lying = Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, ...Array(100).fill(0x41)]);
  for (const port of [s.port, kubeletPort]) {
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) {
      jobs.push(send(port, cut, 50), send(port, lying, 50), send(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200), send(port, Buffer.alloc(0), 0));
    }
    // A finished handshake cut before a request, and one cut in the middle of a request.
    for (let i = 0; i < 20; i++) {
      const t = await tlsSocket(port);
      if (i % 2) t.write(`POST ${JOIN} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"to`);
      t.destroy();
    }
    await Promise.all(jobs);
  }
  await healthy();
  expect((await record("kubelet healthz", kubeletPort, get("/healthz"))).status).toBe(200);
});

test("slowloris: 60 connections trickling headers and bodies; health checks answer meanwhile", async () => {
  const trickling = [];
  for (let i = 0; i < 60; i++) {
    const port = i % 3 === 2 ? kubeletPort : s.port;
    const sock = await tlsSocket(port);
    sock.on("error", () => {});
    const text = i % 3 === 0 ? `POST ${JOIN} HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n{"token":"abcdef.0123456789abcdef","nodeName":"slow"}` : get("/healthz") + "X-Slow: " + "z".repeat(200);
    let at = 0;
    const timer = setInterval(() => {
      if (sock.destroyed || at >= text.length) return clearInterval(timer);
      sock.write(text[at++]!);
    }, 500);
    trickling.push({ sock, timer, answer: collect(sock, 30_000) });
  }
  // 12 s of trickling (past Bun's idle timeout), with health checks on both ports throughout.
  for (let i = 0; i < 6; i++) {
    await Bun.sleep(2_000);
    await healthy();
    expect((await record("kubelet healthz during slowloris", kubeletPort, get("/healthz"))).status).toBe(200);
  }
  for (const t of trickling) {
    clearInterval(t.timer);
    t.sock.destroy();
  }
  for (const t of trickling) {
    const r = parseResponse(await t.answer);
    answers.push({ what: "slowloris", status: r.status });
  }
  await healthy();
});

test("repeated: 1,500 requests, 16 at a time, to every unauthenticated endpoint", async () => {
  const targets: [number, string][] = [
    [s.port, get("/cacerts")],
    [s.port, get("/healthz")],
    [s.port, get("/livez")],
    [s.port, get("/readyz")],
    [s.port, post(JOIN, '{"token":"abcdef.0123456789abcdef","nodeName":"again"}')],
    [s.port, post(JOIN, '{"token":"not-the-server-token","nodeName":"again"}')],
    [kubeletPort, get("/containerLogs/default/p/c")],
    [kubeletPort, get("/healthz")],
  ];
  let next = 0;
  const counts = new Map<number, number>();
  const worker = async () => {
    while (next < 1500) {
      const [port, raw] = targets[next++ % targets.length]!;
      const r = await record("repeated", port, raw);
      counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  console.log(`repeated requests by status: ${[...counts].map(([k, v]) => `${k}×${v}`).join(", ")}`);
  // Refused joins end in 429 (the failure limit), never in a dropped connection.
  expect(counts.get(0) ?? 0).toBe(0);
  expect(counts.get(429) ?? 0).toBeGreaterThan(0);
  await healthy();
});

test("at the end: alive, healthy, no 5xx answered, RSS bounded", async () => {
  await healthy();
  const rss = rssBytes(s.proc.pid);
  const versionNotSupported = answers.filter((a) => a.requestLine && a.status === 505).length;
  console.log(`server RSS: ${mb(rssAtStart)} MB after start, ${mb(rss)} MB after ${answers.length} abusive requests (${mb(rss - rssAtStart)} MB); ${versionNotSupported} unparsable request lines answered 505 by Bun's HTTP parser`);
  expect(answers.filter((a) => a.status >= 500 && !(a.requestLine && a.status === 505))).toEqual([]);
  expect(s.log).not.toMatch(/unhandled error|unexpected error/);
  expect(rss - rssAtStart).toBeLessThan(64 * 1024 * 1024);
});
