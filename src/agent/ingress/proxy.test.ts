import { afterAll, expect, test } from "bun:test";
import { createProxy, relayHandlers } from "./proxy";
import { buildRoutes } from "./routes";
import { freeLoopbackPort } from "./testing";

// Two endpoints that say who they are and echo what the proxy sent; one refused address.
const backend = (name: string) =>
  Bun.serve<string>({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req, server) {
      if (server.upgrade(req, { data: name, headers: { "x-ignored": "1" } })) return undefined;
      const body = req.body ? await req.text() : "";
      return Response.json({ name, path: new URL(req.url).pathname + new URL(req.url).search, host: req.headers.get("host"), xff: req.headers.get("x-forwarded-for"), proto: req.headers.get("x-forwarded-proto"), xhost: req.headers.get("x-forwarded-host"), body });
    },
    websocket: {
      message(ws, m) {
        ws.send(`${ws.data}:${m}`);
      },
    },
  });
const a = backend("a");
const b = backend("b");
const refused = `127.0.0.1:${freeLoopbackPort()}`;
let eps = [`127.0.0.1:${a.port}`, refused, `127.0.0.1:${b.port}`];
const routes = buildRoutes([
  { metadata: { name: "i", namespace: "ns", creationTimestamp: "2026-01-01T00:00:00Z" }, spec: { rules: [{ host: "web.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] } }, { host: "empty.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "empty", port: { number: 80 } } } }] } }] } },
]);
const proxy = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: createProxy({ routes: () => routes, endpoints: (be) => (be.service === "web" ? eps : []), scheme: "http", port: 80 }), websocket: relayHandlers });
const url = `http://127.0.0.1:${proxy.port}`;
afterAll(() => [a, b, proxy].forEach((s) => s.stop(true)));

const get = async (host: string, path = "/", init: RequestInit = {}) => {
  const res = await fetch(`${url}${path}`, { ...init, headers: { host, ...(init.headers as Record<string, string>) } });
  return { status: res.status, body: (res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text()) as any };
};

test("forwards with the original host and X-Forwarded headers; round-robin skips a refused endpoint", async () => {
  const seen: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await get("web.test", "/x?y=1", { headers: { "x-forwarded-for": "192.0.2.1" } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ path: "/x?y=1", host: "web.test", xff: "192.0.2.1, 127.0.0.1", proto: "http", xhost: "web.test" });
    seen.push(r.body.name);
  }
  expect(seen.sort()).toEqual(["a", "a", "b", "b"]);
});

test("a request body reaches the endpoint; a small one is resent to another endpoint after a refusal", async () => {
  const body = "z".repeat(200_000);
  const saved = eps;
  eps = [`127.0.0.1:${b.port}`];
  const r = await get("web.test", "/post", { method: "POST", body });
  expect(r.status).toBe(200);
  expect(r.body.body === body).toBe(true);
  eps = [refused, `127.0.0.1:${b.port}`];
  const first = await get("web.test", "/post", { method: "POST", body: "x" });
  const second = await get("web.test", "/post", { method: "POST", body: "x" });
  expect([first.status, second.status, first.body.body, second.body.body]).toEqual([200, 200, "x", "x"]);
  eps = saved;
});

test("404 without a route, 503 without endpoints, 502 when none answers", async () => {
  expect(await get("nowhere.test")).toEqual({ status: 404, body: "404 page not found\n" });
  expect((await get("empty.test")).status).toBe(503);
  eps = [refused];
  expect((await get("web.test")).status).toBe(502);
  eps = [`127.0.0.1:${a.port}`];
});

test("a WebSocket is relayed both ways", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/chat`, { headers: { host: "web.test" } } as unknown as string[]);
  const got = new Promise<string>((resolve, reject) => {
    ws.onmessage = (m) => resolve(String(m.data));
    ws.onerror = () => reject(new Error("websocket failed"));
  });
  await new Promise((r) => (ws.onopen = r));
  ws.send("hello");
  expect(await got).toBe("a:hello");
  ws.close();
});
