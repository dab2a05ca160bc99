// The proxy subresources' HTTP leg (pods/proxy, services/proxy, nodes/proxy): the client's
// request — any method, path, query and body, streamed — goes to the backend, and the backend's
// answer streams back with links rewritten as upstream's proxy transport rewrites them
// (rewrite.ts). Errors reaching the backend are 503s in upstream's words ("error trying to reach
// service: ..."), and a backend that cannot be reached never holds the request for long: if no
// answer has come after a few seconds, a TCP dial tells a slow backend from an unreachable one.
// A client that goes away aborts the backend request, so its socket closes with it.
import type { Server } from "bun";
import { connect } from "node:net";
import type { ProxyLocation } from "./proxy-target";
import { rewriteHTML, rewriteURL, type RewriteContext } from "./rewrite";
import type { KubeletTokenSigner } from "./signer";
import { unavailable } from "./target";

/** After this long without response headers, the backend is dialed to see whether it is there at all. */
const PROBE_AFTER_MS = 3_000;
/** How long that dial may take: an address with no route behind it never answers. */
export const DIAL_TIMEOUT_MS = 5_000;

/** Hop-by-hop headers (RFC 9110 §7.6.1), which a proxy never forwards, in either direction. */
const HOP_BY_HOP = ["connection", "proxy-connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"];
/** Upstream's corsRemovingTransport: the API server, not the backend, decides what browsers may do. */
const CORS = ["access-control-allow-credentials", "access-control-allow-headers", "access-control-allow-methods", "access-control-allow-origin"];

export interface ProxyRequest {
  location: ProxyLocation;
  /** The backend path, starting with "/", encoded as upstream encodes it (proxy-path.ts). */
  path: string;
  /** The request path up to and including /proxy. */
  pathPrepend: string;
  sign: KubeletTokenSigner;
}

/** The headers the backend gets: the client's, minus hop-by-hop ones and the client's credentials. */
export function forwardedHeaders(req: Request, pathPrepend: string, path: string, clientIp?: string): Headers {
  const h = new Headers(req.headers);
  const named = (h.get("connection") ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const k of [...HOP_BY_HOP, ...named, "host", "authorization"]) h.delete(k);
  // kube-apiserver drops impersonation headers once it has acted on them.
  for (const k of [...h.keys()]) if (k.startsWith("impersonate-")) h.delete(k);
  const uri = `${pathPrepend}${path}`.replace(/\/{2,}/g, "/");
  h.set("x-forwarded-uri", uri);
  if (clientIp) h.set("x-forwarded-for", [h.get("x-forwarded-for"), clientIp].filter(Boolean).join(", "));
  return h;
}

/** Go's dial error text for what Bun reports, so messages read as upstream's. */
function dialError(host: string, e: unknown): string {
  const err = e as { code?: string; message?: string };
  if (err.code === "ECONNREFUSED" || err.code === "ConnectionRefused") return `dial tcp ${host}: connect: connection refused`;
  if (err.code === "EHOSTUNREACH" || err.code === "HostUnreachable") return `dial tcp ${host}: connect: no route to host`;
  if (err.code === "ENETUNREACH" || err.code === "NetworkUnreachable") return `dial tcp ${host}: connect: network is unreachable`;
  if (err.code === "ECONNRESET" || err.code === "ConnectionClosed") return `read tcp ${host}: connection reset by peer`;
  // Bun's messages carry advice for its own users ("pass `verbose: true`..."), not for ours.
  return `${host}: ${(err.message ?? String(e)).replace(/\. For more information.*$/s, "")}`;
}

/**
 * Whether a TCP connection to the backend opens within DIAL_TIMEOUT_MS; the error text if not.
 * node:net, because its socket exists before it connects: a dial that times out is destroyed
 * then and there, instead of lingering until the kernel gives up on it.
 */
export function dialProbe(hostname: string, port: number, timeoutMs = DIAL_TIMEOUT_MS): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port });
    const done = (why?: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done("i/o timeout"), timeoutMs);
    socket.once("connect", () => done());
    socket.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" ? "connect: connection refused" : e.code === "EHOSTUNREACH" ? "connect: no route to host" : e.message));
  });
}

export async function forwardHttp(req: Request, url: URL, server: Server<unknown> | undefined, p: ProxyRequest): Promise<Response> {
  const loc = p.location;
  const target = `${loc.scheme}://${loc.host}${p.path}${url.search}`;
  const headers = forwardedHeaders(req, p.pathPrepend, p.path, server?.requestIP(req)?.address);
  if (loc.agent) headers.set("authorization", `Bearer ${await p.sign(loc.agent.node)}`);
  // Responses may stream for as long as the backend likes (a log, server-sent events).
  server?.timeout(req, 0);

  const aborter = new AbortController();
  const onClientGone = () => aborter.abort(req.signal.reason);
  req.signal.addEventListener("abort", onClientGone, { once: true });
  let unreachable: string | undefined;
  let answered = false;
  const probe = setTimeout(async () => {
    const why = await dialProbe(loc.hostname, loc.port);
    // Headers that arrived while the probe ran settle it: a streaming answer is never cut.
    if (why && !answered && !aborter.signal.aborted) {
      unreachable = `dial tcp ${loc.host}: ${why}`;
      aborter.abort(new Error(unreachable));
    }
  }, PROBE_AFTER_MS);

  const hasBody = !["GET", "HEAD"].includes(req.method) && req.body !== null;
  let res: Response;
  try {
    res = await fetch(target, {
      method: req.method,
      headers,
      body: hasBody ? req.body : undefined,
      redirect: "manual",
      signal: aborter.signal,
      // Backends' bytes pass through as sent; one connection per request, closed with it.
      decompress: false,
      keepalive: false,
      timeout: false,
      // Upstream's proxy transport does not verify pods' certificates either (InsecureSkipVerify);
      // an agent is trusted by the certificate it published, and nothing else.
      tls: loc.agent ? { ca: loc.agent.pinnedCertPem } : { rejectUnauthorized: false },
      ...(hasBody && { duplex: "half" }),
    } as RequestInit);
  } catch (e) {
    throw unavailable(`error trying to reach service: ${unreachable ?? dialError(loc.host, e)}`);
  } finally {
    answered = true;
    clearTimeout(probe);
  }

  if (loc.agent && (res.status === 401 || res.status === 403)) {
    await res.body?.cancel();
    // Passing the 401 on would tell the client its own credentials are wrong.
    throw unavailable(`the agent on node "${loc.agent.node}" refused the API server's credentials (it may trust another cluster CA)`);
  }
  return responseFor(req, res, { pathPrepend: p.pathPrepend, backendHost: loc.host, requestHost: req.headers.get("host") ?? new URL(req.url).host });
}

/** The backend's answer as the client gets it. */
function responseFor(req: Request, res: Response, c: RewriteContext): Response {
  const headers = new Headers(res.headers);
  const named = (headers.get("connection") ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const k of [...HOP_BY_HOP, ...named, ...CORS]) headers.delete(k);
  const noBody = req.method === "HEAD" || res.status === 204 || res.status === 304;
  const location = headers.get("location");
  if (location) {
    // As upstream: a redirect's Location is rewritten and its body passed through unchanged.
    headers.set("location", rewriteURL(location, c));
    return new Response(noBody ? null : res.body, { status: res.status, statusText: res.statusText, headers });
  }
  const out = new Response(noBody ? null : res.body, { status: res.status, statusText: res.statusText, headers });
  const type = (headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  return type === "text/html" && !noBody ? rewriteHTML(out, c) : out;
}

