// The request path of the ingress: route (routes.ts), pick a ready endpoint of the backend
// Service round-robin, and forward the request to it with the X-Forwarded-* headers; the body
// streams both ways, upstream connections are kept alive and reused. A refused connection is
// retried on the Service's other endpoints (for requests without a body, which can be resent).
// No route: 404; a route whose Service has no ready endpoint: 503; none reachable: 502.
import type { Server } from "bun";
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

const text = (status: number, body: string) => new Response(`${body}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });

const refused = (e: unknown) => {
  const err = e as { code?: string; message?: string };
  return err?.code === "ConnectionRefused" || err?.code === "ECONNREFUSED" || /refused|Unable to connect/i.test(err?.message ?? "");
};

export function createProxy(o: ProxyOptions) {
  const next = new Map<string, number>();
  return async function handle(req: Request, server: Server<unknown>): Promise<Response> {
    const url = new URL(req.url);
    const backend = route(o.routes(), req.headers.get("host"), url.pathname);
    if (!backend) return text(404, "404 page not found");
    const eps = o.endpoints(backend);
    if (!eps.length) return text(503, "503 Service Unavailable: no ready endpoints");

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
    const hasBody = req.body !== null && req.method !== "GET" && req.method !== "HEAD";
    let lastError: unknown;
    for (let i = 0; i < eps.length; i++) {
      const ep = eps[(start + i) % eps.length]!;
      try {
        const res = await fetch(`http://${ep}${url.pathname}${url.search}`, {
          method: req.method,
          headers,
          body: hasBody ? req.body : undefined,
          redirect: "manual",
          decompress: false,
          duplex: "half",
        });
        const out = new Headers(res.headers);
        stripHopByHop(out);
        return new Response(res.body, { status: res.status, statusText: res.statusText, headers: out });
      } catch (e) {
        lastError = e;
        if (!refused(e) || hasBody) break;
      }
    }
    return text(502, `502 Bad Gateway: ${(lastError as Error)?.message ?? "no endpoint answered"}`);
  };
}
