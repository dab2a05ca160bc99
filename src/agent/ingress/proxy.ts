// The request path of the ingress: route (routes.ts), pick a ready endpoint of the backend
// Service round-robin, and forward the request to it with the X-Forwarded-* headers; the body
// streams both ways, upstream connections are kept alive and reused. A refused connection is
// retried on the Service's other endpoints (with its body when that is small enough to hold).
// No route: 404; a route whose Service has no ready endpoint: 503; none reachable: 502.
// A WebSocket upgrade is answered once the endpoint accepted its own; frames are then relayed
// both ways until either side closes.
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { route, type Backend, type RouteTable } from "./routes";

export interface ProxyOptions {
  routes(): RouteTable;
  /** "ip:port" of the ready endpoints of a backend ([v6]:port for IPv6). */
  endpoints(b: Backend): string[];
  scheme: "http" | "https";
  /** The port clients reached (X-Forwarded-Port). */
  port: number;
}

// Headers about one connection, never forwarded (RFC 9110 section 7.6.1).
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization"];

function stripHopByHop(h: Headers) {
  for (const name of (h.get("connection") ?? "").split(",")) if (name.trim()) h.delete(name.trim());
  for (const name of HOP_BY_HOP) h.delete(name);
}

/** Bodies up to this size are held so that a refused request can go to another endpoint. */
const REPLAYABLE_BODY_BYTES = 1 << 20;

const text = (status: number, body: string) => new Response(`${body}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });

const refused = (e: unknown) => {
  const err = e as { code?: string; message?: string };
  return err?.code === "ConnectionRefused" || err?.code === "ECONNREFUSED" || /refused|Unable to connect/i.test(err?.message ?? "");
};

/** A relayed WebSocket: the endpoint's socket, and what it sent before the client's side opened. */
export interface Relay {
  upstream: WebSocket;
  queued: (string | ArrayBuffer)[];
  client?: ServerWebSocket<Relay>;
}

/** The Bun.serve websocket handlers that relay frames to and from the endpoint. */
export const relayHandlers: WebSocketHandler<Relay> = {
  open(ws) {
    ws.data.client = ws;
    for (const m of ws.data.queued) ws.send(m);
    ws.data.queued = [];
  },
  message(ws, message) {
    ws.data.upstream.send(message);
  },
  close(ws, code, reason) {
    try {
      ws.data.upstream.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      ws.data.upstream.close();
    }
  },
};

function openUpstream(url: string, headers: Headers): Promise<WebSocket> {
  const protocols = (headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim()).filter(Boolean);
  const forward: Record<string, string> = {};
  for (const [k, v] of headers) if (!k.startsWith("sec-websocket-")) forward[k] = v;
  // Bun's WebSocket takes headers for the handshake (not part of the web API).
  const ws = new WebSocket(url, { protocols, headers: forward } as unknown as string[]);
  ws.binaryType = "arraybuffer";
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`the endpoint refused the WebSocket at ${url}`));
  });
}

async function upgrade(req: Request, server: Server<unknown>, url: URL, ep: string, headers: Headers): Promise<Response | undefined> {
  let upstream: WebSocket;
  try {
    upstream = await openUpstream(`ws://${ep}${url.pathname}${url.search}`, headers);
  } catch (e) {
    return text(502, `502 Bad Gateway: ${(e as Error).message}`);
  }
  const relay: Relay = { upstream, queued: [] };
  upstream.onmessage = (m) => (relay.client ? relay.client.send(m.data) : relay.queued.push(m.data));
  upstream.onclose = (e) => relay.client?.close(e.code === 1005 || e.code === 1006 ? 1000 : e.code, e.reason);
  const chosen = upstream.protocol;
  if ((server as Server<Relay>).upgrade(req, { data: relay, headers: chosen ? { "sec-websocket-protocol": chosen } : undefined })) return undefined;
  upstream.close();
  return text(400, "400 Bad Request: not a WebSocket handshake");
}

export function createProxy(o: ProxyOptions) {
  const next = new Map<string, number>();
  return async function handle(req: Request, server: Server<unknown>): Promise<Response | undefined> {
    const url = new URL(req.url);
    const backend = route(o.routes(), req.headers.get("host"), url.pathname);
    if (!backend) return text(404, "404 page not found");
    const eps = o.endpoints(backend);
    if (!eps.length) return text(503, "503 Service Unavailable: no ready endpoints");
    const wantsWebSocket = req.headers.get("upgrade")?.toLowerCase() === "websocket";

    const headers = new Headers(req.headers);
    stripHopByHop(headers);
    const client = server.requestIP(req)?.address;
    if (client) headers.set("x-forwarded-for", [req.headers.get("x-forwarded-for"), client].filter(Boolean).join(", "));
    if (client) headers.set("x-real-ip", client);
    headers.set("x-forwarded-proto", o.scheme);
    headers.set("x-forwarded-host", req.headers.get("host") ?? "");
    headers.set("x-forwarded-port", String(o.port));

    const key = `${backend.namespace}/${backend.service}:${backend.port}`;
    const start = next.get(key) ?? 0;
    next.set(key, (start + 1) % eps.length);
    if (wantsWebSocket) return upgrade(req, server, url, eps[start % eps.length]!, headers);
    const hasBody = req.body !== null && req.method !== "GET" && req.method !== "HEAD";
    // A small body of known length is read first, so a refused connection can be retried with it.
    const length = Number(req.headers.get("content-length") ?? Number.NaN);
    const buffered = hasBody && length <= REPLAYABLE_BODY_BYTES;
    const body = !hasBody ? undefined : buffered ? await req.arrayBuffer() : req.body;
    let lastError: unknown;
    for (let i = 0; i < eps.length; i++) {
      const ep = eps[(start + i) % eps.length]!;
      try {
        const res = await fetch(`http://${ep}${url.pathname}${url.search}`, {
          method: req.method,
          headers,
          body,
          redirect: "manual",
          decompress: false,
          duplex: "half",
        });
        const out = new Headers(res.headers);
        stripHopByHop(out);
        return new Response(res.body, { status: res.status, statusText: res.statusText, headers: out });
      } catch (e) {
        lastError = e;
        if (!refused(e) || (hasBody && !buffered)) break;
      }
    }
    return text(502, `502 Bad Gateway: ${(lastError as Error)?.message ?? "no endpoint answered"}`);
  };
}
