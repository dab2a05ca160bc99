// pods/log and pods/exec against a stand-in agent (TLS with a self-signed certificate, which the
// API server must pin from the Node annotation, and a JWT it must present): target errors,
// streaming, the WebSocket tunnel both ways, and the 503s when the agent cannot be used.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Server } from "bun";
import { importX509, jwtVerify } from "jose";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KUBELET_TOKEN_ISSUER, kubeletTokenAudience, SERVING_CERT_ANNOTATION } from "../../../api/kubelet-api";
import { createAuthorizer } from "../../auth/authorizer";
import { nodeUser } from "../../auth/node-credentials";
import { ensureCa } from "../../pki/ca";
import { tlsDir } from "../../pki/index";
import { x509 } from "../../pki/x509";
import { startTestApi, TEST_TOKEN, type TestApi } from "../testing";

const dataDir = mkdtempSync(join(tmpdir(), "bramble-proxy-"));
let t: TestApi;
let api: Server<unknown>;
let agent: Server<unknown>;
let agentCertPem: string;
const seen: { url: URL; audience?: unknown }[] = [];

async function selfSigned() {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=agent",
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "ip", value: "127.0.0.1" }])],
  });
  return { cert: cert.toString("pem"), key: x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY") };
}

beforeAll(async () => {
  const ca = await ensureCa(tlsDir(dataDir)); // the default signer reads this CA's key
  const caKey = await importX509(ca.certPem, "ES256");
  const tls = await selfSigned();
  agentCertPem = tls.cert;
  agent = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    tls: { cert: tls.cert, key: tls.key },
    async fetch(req, server) {
      const url = new URL(req.url);
      try {
        const { payload } = await jwtVerify((req.headers.get("authorization") ?? "").replace(/^Bearer /, ""), caKey, { issuer: KUBELET_TOKEN_ISSUER });
        seen.push({ url, audience: payload.aud });
      } catch {
        return new Response("no", { status: 401 });
      }
      if (url.pathname.endsWith("/refuse")) return new Response("no", { status: 401 });
      if (url.pathname.startsWith("/containerLogs/")) return new Response("a\nb\n");
      if (server.upgrade(req, { headers: { "Sec-WebSocket-Protocol": req.headers.get("sec-websocket-protocol")!.split(",")[0]! }, data: undefined })) return;
      return new Response("bad", { status: 400 });
    },
    websocket: {
      open: (ws) => void ws.send(new Uint8Array([1, ...new TextEncoder().encode("ready")])),
      message(ws, m) {
        const b = typeof m === "string" ? new TextEncoder().encode(m) : m;
        if (b[0] === 255) {
          ws.send(new Uint8Array([3, ...new TextEncoder().encode('{"metadata":{},"status":"Success"}')]));
          ws.close(1000, "");
        } else ws.send(new Uint8Array([1, ...b.subarray(1)]));
      },
    },
  });
  t = await startTestApi({ dataDir });
  api = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req, server) => t.api.fetch(req, server), websocket: t.api.websocket! });

  const node = (name: string, port: number, cert?: string) => ({ metadata: { name, annotations: cert ? { [SERVING_CERT_ANNOTATION]: cert } : {} }, status: { port } });
  for (const n of [node("n1", agent.port!, agentCertPem), node("noport", 0, agentCertPem), node("down", 1, agentCertPem)]) {
    expect((await t.call("POST", "/api/v1/nodes", { metadata: n.metadata })).status).toBe(201);
    const status = { addresses: [{ type: "InternalIP", address: "127.0.0.1" }], daemonEndpoints: { kubeletEndpoint: { Port: n.status.port } } };
    expect((await t.call("PATCH", `/api/v1/nodes/${n.metadata.name}/status`, { status }, { "content-type": "application/merge-patch+json" })).status).toBe(200);
  }
  const pod = (name: string, nodeName?: string) => ({ metadata: { name }, spec: { nodeName, containers: [{ name: "c", image: "x" }, { name: "refuse", image: "x" }] } });
  for (const p of [pod("p", "n1"), pod("unscheduled"), pod("p-noport", "noport"), pod("p-down", "down"), pod("p-gone", "ghost")]) {
    expect((await t.call("POST", "/api/v1/namespaces/default/pods", p)).status).toBe(201);
  }
});

afterAll(async () => {
  api?.stop(true);
  agent?.stop(true);
  await t?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const logs = (pod: string, query = "container=c") => t.call("GET", `/api/v1/namespaces/default/pods/${pod}/log?${query}`);

test("pods/log streams the agent's answer, presenting a token for that node, with the pod's UID and options", async () => {
  const res = await logs("p", "container=c&tailLines=2&timestamps=true&bogus=1");
  expect(res).toMatchObject({ status: 200, body: "a\nb\n" });
  const last = seen.at(-1)!;
  expect(last.audience).toBe(kubeletTokenAudience("n1"));
  expect(last.url.pathname).toBe("/containerLogs/default/p/c");
  expect(last.url.searchParams.get("tailLines")).toBe("2");
  expect(last.url.searchParams.get("timestamps")).toBe("true");
  expect(last.url.searchParams.get("podUID")).toMatch(/^[0-9a-f-]{36}$/);
  expect(last.url.searchParams.has("bogus")).toBe(false);
});

test("pods/log flags in any client's spelling reach the agent in one spelling, read as kube-apiserver reads them", async () => {
  expect(await logs("p", "container=c&timestamps=True&follow=False&previous=FALSE")).toMatchObject({ status: 200, body: "a\nb\n" });
  let url = seen.at(-1)!.url;
  expect([...url.searchParams.keys()].sort()).toEqual(["podUID", "timestamps"]);
  expect(url.searchParams.get("timestamps")).toBe("true");
  // Anything but 0 and false is on, a lone "F" and the empty value included.
  expect(await logs("p", "container=c&timestamps=yes&previous=F&follow=0")).toMatchObject({ status: 200, body: "a\nb\n" });
  url = seen.at(-1)!.url;
  expect([...url.searchParams.keys()].sort()).toEqual(["podUID", "previous", "timestamps"]);
  expect([url.searchParams.get("previous"), url.searchParams.get("timestamps")]).toEqual(["true", "true"]);
  expect(await logs("p", "container=c&timestamps=&previous")).toMatchObject({ status: 200, body: "a\nb\n" });
  url = seen.at(-1)!.url;
  expect([url.searchParams.get("previous"), url.searchParams.get("timestamps"), url.searchParams.has("follow")]).toEqual(["true", "true", false]);
});

test("errors before reaching the agent are Statuses with upstream's codes and words", async () => {
  expect(await logs("nope")).toMatchObject({ status: 404, body: { reason: "NotFound" } });
  expect(await logs("p", "container=zzz")).toMatchObject({ status: 400, body: { message: "container zzz is not valid for pod p" } });
  expect(await logs("p", "")).toMatchObject({ status: 400, body: { message: "a container name must be specified for pod p, choose one of: [c refuse]" } });
  expect(await logs("unscheduled")).toMatchObject({ status: 400, body: { message: "pod unscheduled does not have a host assigned" } });
  expect(await logs("p-gone")).toMatchObject({ status: 503, body: { reason: "ServiceUnavailable" } });
  expect((await logs("p-noport")).body.message).toContain('node "noport" does not advertise an agent endpoint');
  const down = await logs("p-down");
  expect(down).toMatchObject({ status: 503, body: { reason: "ServiceUnavailable" } });
  expect(down.body.message).toContain('error dialing backend: the agent on node "down"');
  const refused = await logs("p", "container=refuse");
  expect(refused.status).toBe(503);
  expect(refused.body.message).toContain("refused the API server's credentials");
  expect((await t.call("POST", "/api/v1/namespaces/default/pods/p/log")).status).toBe(405);
});

test("pods/exec without a WebSocket upgrade says what is spoken", async () => {
  const res = await t.call("POST", "/api/v1/namespaces/default/pods/p/exec?command=sh&stdout=true&container=c");
  expect(res.status).toBe(400);
  expect(res.body.message).toContain("WebSocket");
  expect((await t.call("POST", "/api/v1/namespaces/default/pods/p/exec?stdout=true&container=c")).body.message).toBe("you must specify at least one command for the container");
  // Flags read as kube-apiserver reads them: "yes" is on, so the request gets as far as the upgrade.
  expect((await t.call("POST", "/api/v1/namespaces/default/pods/p/exec?command=sh&stdout=yes&container=c")).body.message).toContain("WebSocket");
  const noStream = "/api/v1/namespaces/default/pods/p/exec?command=sh&stdin=0&stdout=False&stderr=FALSE&tty=yes&container=c";
  expect((await t.call("POST", noStream)).body.message).toBe("you must specify at least 1 of stdin, stdout, stderr");
});

test("pods/exec tunnels frames both ways with the negotiated subprotocol, and closes when the agent does", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${api.port}/api/v1/namespaces/default/pods/p/exec?command=sh&command=-c&command=x&stdin=True&stdout=1&stderr=False&container=c`, {
    protocols: ["v5.channel.k8s.io", "v4.channel.k8s.io"],
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
  });
  ws.binaryType = "arraybuffer";
  const got: string[] = [];
  const closed = new Promise<number>((r) => (ws.onclose = (e) => r(e.code)));
  ws.onmessage = (e) => {
    const b = new Uint8Array(e.data as ArrayBuffer);
    got.push(`${b[0]}:${new TextDecoder().decode(b.subarray(1))}`);
  };
  await new Promise((r, j) => ((ws.onopen = r), (ws.onerror = j)));
  expect(ws.protocol).toBe("v5.channel.k8s.io");
  ws.send(new Uint8Array([0, ...new TextEncoder().encode("hello")]));
  while (got.length < 2) await Bun.sleep(10);
  ws.send(new Uint8Array([255, 0]));
  expect(await closed).toBe(1000);
  expect(got).toEqual(["1:ready", "1:hello", '3:{"metadata":{},"status":"Success"}']);
  const url = seen.at(-1)!.url;
  expect(url.pathname).toBe("/exec/default/p/c");
  expect(url.searchParams.getAll("command")).toEqual(["sh", "-c", "x"]);
  // The flags the client set, in one spelling; the ones it cleared are left out.
  expect([url.searchParams.get("stdin"), url.searchParams.get("stdout"), url.searchParams.has("stderr"), url.searchParams.has("tty")]).toEqual(["true", "true", false, false]);
});

test("nodes may not read logs, exec or attach, even into their own pods", async () => {
  const authorize = createAuthorizer({ getPod: () => ({ metadata: { name: "p" }, spec: { nodeName: "n1" } }) as never, podsOnNode: () => [] });
  for (const [verb, subresource] of [["get", "log"], ["create", "exec"], ["get", "exec"], ["create", "attach"], ["get", "attach"]] as const) {
    const d = await authorize(nodeUser("n1"), { verb, group: "", resource: "pods", subresource, namespace: "default", name: "p" });
    expect(d.allowed).toBe(false);
  }
});
