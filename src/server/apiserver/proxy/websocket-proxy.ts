// A WebSocket upgrade through a proxy subresource (a dashboard's live view, a shell in a web
// UI): the backend is dialed first, with the client's subprotocols, so a backend that is not
// there is still an HTTP Status; then the client's upgrade is accepted with the subprotocol the
// backend chose, and frames pass between the two through the same Tunnel exec uses.
import type { Server } from "bun";
import { badRequest } from "../../../api/errors";
import { DIAL_TIMEOUT_MS, forwardedHeaders, type ProxyRequest } from "./http-proxy";
import { unavailable } from "./target";
import { Tunnel } from "./tunnel";

export const isWebSocketUpgrade = (req: Request) => req.headers.get("upgrade")?.toLowerCase() === "websocket";

/** Headers the WebSocket client sets itself; the client's own would clash with them. */
const HANDSHAKE = ["sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol", "content-length"];

export async function forwardWebSocket(req: Request, url: URL, server: Server<unknown> | undefined, p: ProxyRequest): Promise<Response> {
  if (!server) throw badRequest("a WebSocket upgrade needs a direct HTTP connection to the API server");
  const loc = p.location;
  const target = `${loc.scheme === "https" ? "wss" : "ws"}://${loc.host}${p.path}${url.search}`;
  const headers = forwardedHeaders(req, p.pathPrepend, p.path, server.requestIP(req)?.address);
  for (const k of HANDSHAKE) headers.delete(k);
  if (loc.agent) headers.set("authorization", `Bearer ${await p.sign(loc.agent.node)}`);
  const protocols = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) => s.trim()).filter(Boolean);

  const backend = await new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(target, {
      protocols,
      headers: Object.fromEntries(headers),
      tls: loc.agent ? { ca: loc.agent.pinnedCertPem } : { rejectUnauthorized: false },
    } as unknown as string[]);
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`dial tcp ${loc.host}: i/o timeout`));
    }, DIAL_TIMEOUT_MS);
    ws.addEventListener("open", () => (clearTimeout(timer), resolve(ws)), { once: true });
    ws.addEventListener("error", (e) => (clearTimeout(timer), reject(new Error((e as ErrorEvent).message || `the backend at ${loc.host} refused the WebSocket upgrade`))), { once: true });
  }).catch((e: Error) => {
    throw unavailable(`error dialing backend: ${e.message}`);
  });
  const tunnel = new Tunnel(backend);
  server.timeout(req, 0);
  const chosen = backend.protocol;
  // Bun ignores the response of an upgraded request; Hono needs one.
  if (server.upgrade(req, { headers: chosen ? { "Sec-WebSocket-Protocol": chosen } : {}, data: tunnel })) return new Response(null);
  backend.close();
  throw badRequest("the WebSocket upgrade failed");
}
