// What exec and attach share on the API server: the streams a request asks for, the WebSocket
// upgrade kubectl must ask for, and splicing kubectl's socket to the agent's. SPDY is not
// spoken: kubectl 1.30+ tries WebSocket first and falls back to SPDY only when the upgrade
// fails, so everything that can fail is checked before the upgrade and reported as a Status
// kubectl prints either way.
import type { Server } from "bun";
import { boolQueryParam } from "../../../api/bool-param";
import { ApiError, badRequest } from "../../../api/errors";
import { EXEC_SUBPROTOCOLS, negotiateSubprotocol, POD_UID_PARAM, type ExecSubprotocol } from "../../../api/kubelet-api";
import type { KubeletTokenSigner } from "./signer";
import { unavailable, type AgentTarget } from "./target";
import { dialWebSocket, Tunnel } from "./tunnel";

export const STREAMS = ["stdin", "stdout", "stderr", "tty"] as const;
export type StreamName = (typeof STREAMS)[number];
const DIAL_TIMEOUT_MS = 10_000;

/** The streams the query turns on, read as kube-apiserver reads booleans; at least one real stream. */
export function requestedStreams(url: URL): StreamName[] {
  const streams = STREAMS.filter((k) => boolQueryParam(url.searchParams, k));
  if (!streams.some((k) => k !== "tty")) throw badRequest("you must specify at least 1 of stdin, stdout, stderr");
  return streams;
}

/** The subprotocol both sides will speak; a request that is no WebSocket upgrade is a 400. */
export function upgradeProtocol(req: Request, server: Server<unknown> | undefined, what: "exec" | "attach"): ExecSubprotocol {
  const protocol = negotiateSubprotocol(req.headers.get("sec-websocket-protocol"));
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket" || !protocol) {
    throw badRequest(`${what} is served over WebSocket only (subprotocols ${EXEC_SUBPROTOCOLS.join(", ")}), not SPDY; use kubectl 1.30 or newer`);
  }
  if (!server) throw badRequest(`${what} needs a direct HTTP connection to the API server`);
  return protocol;
}

/**
 * Dials the agent at `upstream` (a wss: URL with the query already set, but for the pod's UID)
 * and, once it answered, accepts kubectl's upgrade with a tunnel between the two.
 */
export async function spliceToAgent(t: AgentTarget, sign: KubeletTokenSigner, req: Request, server: Server<unknown>, upstream: URL, protocol: ExecSubprotocol, what: "exec" | "attach"): Promise<Response> {
  if (t.pod.metadata.uid) upstream.searchParams.set(POD_UID_PARAM, t.pod.metadata.uid);
  let agent: WebSocket;
  try {
    agent = await dialWebSocket(upstream.toString(), { protocol, headers: { authorization: `Bearer ${await sign(t.node)}` }, ca: t.pinnedCertPem, timeoutMs: DIAL_TIMEOUT_MS });
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw unavailable(`error dialing backend: the agent on node "${t.node}" (${t.base}) did not accept the ${what}: ${(e as Error).message}`);
  }
  const tunnel = new Tunnel(agent);
  // Bun ignores the response of an upgraded request; Hono needs one (as its own helper does).
  if (server.upgrade(req, { headers: { "Sec-WebSocket-Protocol": protocol }, data: tunnel })) return new Response(null);
  agent.close();
  throw badRequest("the WebSocket upgrade failed");
}
