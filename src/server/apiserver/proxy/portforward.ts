// pods/portforward: kubectl 1.31+ opens a WebSocket with the subprotocol
// "SPDY/3.1+portforward.k8s.io" (SPDY tunnelled in binary messages); it is spliced to the
// agent's port-forward endpoint with the same subprotocol, and the agent speaks SPDY. Ports
// travel in the SPDY streams' headers, not in the URL. kubectl falls back to a plain SPDY
// upgrade (POST) only when the WebSocket upgrade fails; Bun cannot hand over a raw connection,
// so that request is answered with the same Status the WebSocket attempt got, or a 400 naming
// the WebSocket protocol when the WebSocket attempt could have worked. WebSocket clients that
// speak the channel protocol (v4.channel.k8s.io, the Python client) name their ports in the URL
// (`ports`); those are checked here and passed on.
import type { Server } from "bun";
import { ApiError, badRequest } from "../../../api/errors";
import { parsePortForwardPorts, PORT_FORWARD_CHANNEL_SUBPROTOCOL, PORT_FORWARD_SUBPROTOCOL, POD_UID_PARAM, portForwardPath } from "../../../api/kubelet-api";
import type { KubeletTokenSigner } from "./signer";
import { unavailable, type AgentTarget } from "./target";
import { dialWebSocket, Tunnel } from "./tunnel";

const DIAL_TIMEOUT_MS = 10_000;

export async function proxyPortForward(t: AgentTarget, sign: KubeletTokenSigner, req: Request, url: URL, server?: Server<unknown>): Promise<Response> {
  const phase = t.pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") throw badRequest(`cannot port-forward to a completed pod; current phase is ${phase}`);
  const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  const upgrade = req.headers.get("upgrade")?.toLowerCase() === "websocket";
  const protocol = offered.includes(PORT_FORWARD_SUBPROTOCOL) ? PORT_FORWARD_SUBPROTOCOL : offered.includes(PORT_FORWARD_CHANNEL_SUBPROTOCOL) ? PORT_FORWARD_CHANNEL_SUBPROTOCOL : undefined;
  const websocket = upgrade && protocol !== undefined;
  let ports: number[] = [];
  if (websocket && protocol === PORT_FORWARD_CHANNEL_SUBPROTOCOL) {
    try {
      ports = parsePortForwardPorts(url.searchParams);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
  }

  const upstream = new URL(portForwardPath(t.pod.metadata.namespace ?? "default", t.pod.metadata.name!), t.base.replace(/^https:/, "wss:"));
  if (t.pod.metadata.uid) upstream.searchParams.set(POD_UID_PARAM, t.pod.metadata.uid);
  if (ports.length) upstream.searchParams.set("ports", ports.join(","));
  let agent: WebSocket;
  try {
    agent = await dialWebSocket(upstream.toString(), { protocol: protocol ?? PORT_FORWARD_SUBPROTOCOL, headers: { authorization: `Bearer ${await sign(t.node)}` }, ca: t.pinnedCertPem, timeoutMs: DIAL_TIMEOUT_MS });
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw unavailable(`error dialing backend: the agent on node "${t.node}" (${t.base}) did not accept the port-forward: ${(e as Error).message}`);
  }
  if (!websocket || !server) {
    agent.close();
    throw badRequest(`port-forward is served over WebSocket only (subprotocol ${PORT_FORWARD_SUBPROTOCOL} or ${PORT_FORWARD_CHANNEL_SUBPROTOCOL}), not SPDY; use kubectl 1.31 or newer`);
  }
  const tunnel = new Tunnel(agent);
  if (server.upgrade(req, { headers: { "Sec-WebSocket-Protocol": protocol! }, data: tunnel })) return new Response(null);
  agent.close();
  throw badRequest("the WebSocket upgrade failed");
}
