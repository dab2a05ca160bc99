// pods/exec: kubectl's WebSocket (v5/v4.channel.k8s.io) is tunnelled to the agent's exec
// endpoint with the same subprotocol. SPDY is not spoken: kubectl 1.30+ tries WebSocket first
// and falls back to SPDY only when the upgrade fails, so everything that can fail is checked
// before the upgrade and reported as a Status kubectl prints either way.
import type { Server } from "bun";
import { boolQueryParam } from "../../../api/bool-param";
import { ApiError, badRequest } from "../../../api/errors";
import { EXEC_SUBPROTOCOLS, execPath, negotiateSubprotocol, POD_UID_PARAM } from "../../../api/kubelet-api";
import type { KubeletTokenSigner } from "./signer";
import { unavailable, type AgentTarget } from "./target";
import { dialWebSocket, Tunnel } from "./tunnel";

const STREAMS = ["stdin", "stdout", "stderr", "tty"] as const;
const DIAL_TIMEOUT_MS = 10_000;

export async function proxyExec(t: AgentTarget, sign: KubeletTokenSigner, req: Request, url: URL, server?: Server<unknown>): Promise<Response> {
  if (!url.searchParams.getAll("command").some(Boolean)) throw badRequest("you must specify at least one command for the container");
  const streams = STREAMS.filter((k) => boolQueryParam(url.searchParams, k));
  if (!streams.some((k) => k !== "tty")) throw badRequest("you must specify at least 1 of stdin, stdout, stderr");
  const protocol = negotiateSubprotocol(req.headers.get("sec-websocket-protocol"));
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket" || !protocol) {
    throw badRequest(`exec is served over WebSocket only (subprotocols ${EXEC_SUBPROTOCOLS.join(", ")}), not SPDY; use kubectl 1.30 or newer`);
  }
  if (!server) throw badRequest("exec needs a direct HTTP connection to the API server");

  const upstream = new URL(execPath(t.pod.metadata.namespace ?? "default", t.pod.metadata.name!, t.container), t.base.replace(/^https:/, "wss:"));
  for (const v of url.searchParams.getAll("command")) upstream.searchParams.append("command", v);
  // Forwarded in one spelling, as upstream's API server does towards the kubelet.
  for (const k of streams) upstream.searchParams.set(k, "true");
  upstream.searchParams.set("container", t.container);
  if (t.pod.metadata.uid) upstream.searchParams.set(POD_UID_PARAM, t.pod.metadata.uid);

  let agent: WebSocket;
  try {
    agent = await dialWebSocket(upstream.toString(), { protocol, headers: { authorization: `Bearer ${await sign(t.node)}` }, ca: t.pinnedCertPem, timeoutMs: DIAL_TIMEOUT_MS });
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw unavailable(`error dialing backend: the agent on node "${t.node}" (${t.base}) did not accept the exec: ${(e as Error).message}`);
  }
  const tunnel = new Tunnel(agent);
  // Bun ignores the response of an upgraded request; Hono needs one (as its own helper does).
  if (server.upgrade(req, { headers: { "Sec-WebSocket-Protocol": protocol }, data: tunnel })) return new Response(null);
  agent.close();
  throw badRequest("the WebSocket upgrade failed");
}
