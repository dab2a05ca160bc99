// The proxy subresources' HTTP leg in process: an API server on the memory store, a backend on
// loopback reached through nodes/proxy at a port other than the agent's (a node's address may
// be loopback; a pod's may not), and the 503s and Statuses around it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { Server } from "bun";
import { x509 } from "../../pki/x509";
import { startTestApi, TEST_TOKEN, type TestApi } from "../testing";
import { dialProbe } from "./http-proxy";

let t: TestApi;
let api: Server<unknown>;
let backend: Server<unknown>;
let closedPort: number;
const seen: { method: string; url: string; headers: Headers; body: string }[] = [];
let streamCancelled: Promise<void>;
let resolveCancelled: () => void;

beforeAll(async () => {
  streamCancelled = new Promise((r) => (resolveCancelled = r));
  backend = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req, server) {
      const url = new URL(req.url);
      if (url.pathname === "/ws") {
        const offered = req.headers.get("sec-websocket-protocol")?.split(",").map((x) => x.trim()) ?? [];
        if (server.upgrade(req, { headers: offered.includes("echo.v1") ? { "Sec-WebSocket-Protocol": "echo.v1" } : {}, data: url.search })) return;
      }
      seen.push({ method: req.method, url: url.pathname + url.search, headers: req.headers, body: await req.text() });
      if (url.pathname === "/redirect") return new Response("moved", { status: 302, headers: { location: `http://${url.host}/landing/?x=1`, "access-control-allow-origin": "*" } });
      if (url.pathname === "/away") return new Response(null, { status: 302, headers: { location: "https://example.com/" } });
      if (url.pathname === "/page") return new Response('<a href="/docs/">docs</a>', { headers: { "content-type": "text/html; charset=utf-8" } });
      if (url.pathname === "/slow") {
        // Longer than the proxy waits before it checks that the backend is there at all.
        await Bun.sleep(3_500);
        return new Response("late but fine");
      }
      if (url.pathname === "/forever") {
        server.timeout(req, 0);
        let n = 0;
        return new Response(
          new ReadableStream({
            async pull(c) {
              await Bun.sleep(20);
              c.enqueue(new TextEncoder().encode(`tick ${n++}\n`));
            },
            cancel: () => resolveCancelled(),
          }),
        );
      }
      return new Response(`${req.method} ${url.pathname}${url.search}`, { headers: { "x-backend": "yes", connection: "x-secret", "x-secret": "hop" } });
    },
    websocket: {
      open: (ws) => void ws.send(`hello ${ws.data}`),
      message: (ws, m) => void ws.send(typeof m === "string" ? `echo ${m}` : m),
    },
  });
  const spare = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  closedPort = spare.port!;
  spare.stop(true);
  t = await startTestApi();
  api = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req, server) => t.api.fetch(req, server), websocket: t.api.websocket! });
  expect((await t.call("POST", "/api/v1/nodes", { metadata: { name: "n1" } })).status).toBe(201);
  const status = { addresses: [{ type: "InternalIP", address: "127.0.0.1" }], daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } };
  expect((await t.call("PATCH", "/api/v1/nodes/n1/status", { status }, { "content-type": "application/merge-patch+json" })).status).toBe(200);
});

afterAll(async () => {
  api?.stop(true);
  backend?.stop(true);
  await t?.stop();
});

test("a probe dial tells a refused port from an open one", async () => {
  expect(await dialProbe("127.0.0.1", closedPort)).toBe("connect: connection refused");
  expect(await dialProbe("127.0.0.1", backend.port!)).toBeUndefined();
});

const base = () => `http://127.0.0.1:${api.port}/api/v1/nodes/n1:${backend.port}/proxy`;
const call = (path: string, init: RequestInit = {}) => fetch(`${base()}${path}`, { redirect: "manual", ...init, headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(init.headers as Record<string, string>) } });

test("method, path, query and body reach the backend; the client's credentials and hop-by-hop headers do not", async () => {
  const res = await call("/a/b%2Fc/s%20p:x%3F/?q=1&q=2", { method: "PUT", body: "payload", headers: { "impersonate-user": "x", "x-custom": "kept", connection: "x-custom-hop", "x-custom-hop": "dropped" } });
  expect(res.status).toBe(200);
  // Decoded and encoded again as Go encodes a path, as upstream forwards it.
  expect(await res.text()).toBe("PUT /a/b/c/s%20p:x%3F/?q=1&q=2");
  expect(res.headers.get("x-backend")).toBe("yes");
  expect(res.headers.get("x-secret")).toBeNull();
  const got = seen.at(-1)!;
  expect(got.body).toBe("payload");
  expect(got.headers.get("authorization")).toBeNull();
  expect(got.headers.get("impersonate-user")).toBeNull();
  expect(got.headers.get("x-custom-hop")).toBeNull();
  expect(got.headers.get("x-custom")).toBe("kept");
  expect(got.headers.get("x-forwarded-uri")).toBe(`/api/v1/nodes/n1:${backend.port}/proxy/a/b/c/s%20p:x%3F/`);
});

test("HEAD gets the backend's headers and no body", async () => {
  const res = await call("/head", { method: "HEAD" });
  expect(res.status).toBe(200);
  expect(res.headers.get("x-backend")).toBe("yes");
  expect(await res.text()).toBe("");
  expect(seen.at(-1)!.method).toBe("HEAD");
});

test("a 3 MB body streams through both ways", async () => {
  const big = "z".repeat(3 * 1024 * 1024 + 17);
  const res = await call("/upload", { method: "POST", body: big });
  expect(await res.text()).toBe("POST /upload");
  expect(seen.at(-1)!.body.length).toBe(big.length);
});

test("the bare …/proxy is redirected to …/proxy/ for GET, as upstream does", async () => {
  const res = await call("?a=b");
  expect(res.status).toBe(301);
  expect(res.headers.get("location")).toBe(`/api/v1/nodes/n1:${backend.port}/proxy/?a=b`);
  expect(await (await call("/")).text()).toBe("GET /");
});

test("a redirect to the backend itself is rewritten under the proxy path; CORS headers are dropped; other hosts are left alone", async () => {
  const res = await call("/redirect");
  expect(res.status).toBe(302);
  expect(res.headers.get("location")).toBe(`/api/v1/nodes/n1:${backend.port}/proxy/landing/?x=1`);
  expect(res.headers.get("access-control-allow-origin")).toBeNull();
  expect((await call("/away")).headers.get("location")).toBe("https://example.com/");
  expect(await (await call("/page")).text()).toBe(`<a href="/api/v1/nodes/n1:${backend.port}/proxy/docs/">docs</a>`);
});

test("a closed port is a 503 in upstream's words; unknown nodes and bad ids are Statuses", async () => {
  const closed = await fetch(`http://127.0.0.1:${api.port}/api/v1/nodes/n1:${closedPort}/proxy/`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  expect(closed.status).toBe(503);
  expect(await closed.json()).toMatchObject({ kind: "Status", reason: "ServiceUnavailable", message: `error trying to reach service: dial tcp 127.0.0.1:${closedPort}: connect: connection refused` });
  const ghost = await fetch(`http://127.0.0.1:${api.port}/api/v1/nodes/ghost/proxy/healthz`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  expect(ghost.status).toBe(404);
  expect(await ghost.json()).toMatchObject({ reason: "NotFound", message: 'nodes "ghost" not found' });
  const bad = await fetch(`http://127.0.0.1:${api.port}/api/v1/nodes/ftp:n1:21/proxy/`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  expect(bad.status).toBe(400);
  expect(await bad.json()).toMatchObject({ message: 'invalid node request "ftp:n1:21"' });
  const noAgentCert = await fetch(`http://127.0.0.1:${api.port}/api/v1/nodes/n1/proxy/healthz`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  expect(noAgentCert.status).toBe(503);
  const other = await fetch(`http://127.0.0.1:${api.port}/api/v1/namespaces/default/configmaps/x/proxy/`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  expect(other.status).toBe(404);
});

test("a client that goes away mid-stream cancels the backend's stream", async () => {
  const ctl = new AbortController();
  const res = await call("/forever", { signal: ctl.signal });
  const reader = res.body!.getReader();
  expect(new TextDecoder().decode((await reader.read()).value)).toStartWith("tick 0");
  ctl.abort();
  await streamCancelled;
});

test("a WebSocket upgrade is passed through with the subprotocol the backend chose, frames both ways", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${api.port}/api/v1/nodes/n1:${backend.port}/proxy/ws?k=v`, { protocols: ["other", "echo.v1"], headers: { authorization: `Bearer ${TEST_TOKEN}` } } as unknown as string[]);
  const got: string[] = [];
  const twoMessages = new Promise<void>((resolve) =>
    ws.addEventListener("message", (e) => {
      got.push(String(e.data));
      if (got.length === 2) resolve();
    }),
  );
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", reject, { once: true });
  });
  expect(ws.protocol).toBe("echo.v1");
  ws.send("ping");
  await twoMessages;
  expect(got).toEqual(["hello ?k=v", "echo ping"]);
  ws.close();
});

test("a backend that is slow to answer but reachable is waited for, not cut off by the reachability check", async () => {
  const res = await call("/slow");
  expect(res.status).toBe(200);
  expect(await res.text()).toBe("late but fine");
});

// A listener that never accepts, with its queue full, leaves new connections unanswered: what an
// address with no route behind it looks like to the API server, without sending a packet anywhere.
test.skipIf(!existsSync("/usr/bin/python3"))("a backend that never answers the dial is a 503 after the dial timeout, not a hung request", async () => {
  const sink = Bun.spawn(["/usr/bin/python3", "-c", "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)"], { stdout: "pipe" });
  try {
    const port = Number(new TextDecoder().decode((await sink.stdout.getReader().read()).value).trim());
    // A backlog of 0 holds one connection; the next ones get no answer.
    const filler = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    const res = await fetch(`http://127.0.0.1:${api.port}/api/v1/nodes/n1:${port}/proxy/`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ reason: "ServiceUnavailable", message: `error trying to reach service: dial tcp 127.0.0.1:${port}: i/o timeout` });
    // Neither the request's dial nor the probe's is left waiting on the kernel.
    const pending = async () => (await Bun.$`ss -Htn state syn-sent ${`( dport = :${port} )`}`.nothrow().text()).trim();
    for (let i = 0; i < 40 && (await pending()) !== ""; i++) await Bun.sleep(50);
    expect(await pending()).toBe("");
    filler.end();
  } finally {
    sink.kill();
  }
}, 30_000);

test("https:NAME:PORT speaks TLS to the backend without checking its certificate, as upstream's proxy transport does", async () => {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: "01", name: "CN=somewhere-else", notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), keys, signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } });
  const key = x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY");
  const tlsBackend = Bun.serve({ port: 0, hostname: "127.0.0.1", tls: { cert: cert.toString("pem"), key }, fetch: (req) => new Response(`tls ${new URL(req.url).pathname}`) });
  try {
    const res = await fetch(`http://127.0.0.1:${api.port}/api/v1/nodes/https:n1:${tlsBackend.port}/proxy/secure`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(await res.text()).toBe("tls /secure");
    // The same port spoken to in plain HTTP: the TLS server hangs up, which is a 503, not a hang.
    const plain = await fetch(`http://127.0.0.1:${api.port}/api/v1/nodes/http:n1:${tlsBackend.port}/proxy/secure`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(plain.status).toBe(503);
    expect(await plain.json()).toMatchObject({ reason: "ServiceUnavailable", message: `error trying to reach service: read tcp 127.0.0.1:${tlsBackend.port}: connection reset by peer` });
  } finally {
    tlsBackend.stop(true);
  }
});
