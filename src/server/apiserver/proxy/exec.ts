// pods/exec: kubectl's WebSocket (v5/v4.channel.k8s.io) is tunnelled to the agent's exec
// endpoint with the same subprotocol (stream.ts).
import type { Server } from "bun";
import { badRequest } from "../../../api/errors";
import { execPath } from "../../../api/kubelet-api";
import type { KubeletTokenSigner } from "./signer";
import { requestedStreams, spliceToAgent, upgradeProtocol } from "./stream";
import type { AgentTarget } from "./target";

export async function proxyExec(t: AgentTarget, sign: KubeletTokenSigner, req: Request, url: URL, server?: Server<unknown>): Promise<Response> {
  if (!url.searchParams.getAll("command").some(Boolean)) throw badRequest("you must specify at least one command for the container");
  const streams = requestedStreams(url);
  const protocol = upgradeProtocol(req, server, "exec");
  const upstream = new URL(execPath(t.pod.metadata.namespace ?? "default", t.pod.metadata.name!, t.container), t.base.replace(/^https:/, "wss:"));
  for (const v of url.searchParams.getAll("command")) upstream.searchParams.append("command", v);
  // Forwarded in one spelling, as upstream's API server does towards the kubelet.
  for (const k of streams) upstream.searchParams.set(k, "true");
  upstream.searchParams.set("container", t.container);
  return spliceToAgent(t, sign, req, server!, upstream, protocol, "exec");
}
