// The agent's port-forward endpoint: the pod's sandbox (pause container) holds its network
// namespace, so every forwarded connection is dialled there (netns-dial.ts), found afresh per
// connection so a restarted sandbox is picked up and a deleted pod is reported as such.
import { ApiError } from "../../../api/errors";
import { parsePortForwardPorts, PORT_FORWARD_CHANNEL_SUBPROTOCOL, PORT_FORWARD_SUBPROTOCOL } from "../../../api/kubelet-api";
import type { Logger } from "../../../machinery/log";
import { NODE_LABEL } from "../../kubelet/names";
import { LABELS, type ContainerRuntime } from "../../runtime/runtime";
import { dialInNetns } from "./netns-dial";
import { ChannelPortForwardSession } from "./channel-session";
import { PortForwardSession, type PodConnector } from "./session";

export { PortForwardSession } from "./session";

export interface PodRef {
  namespace: string;
  pod: string;
  podUid?: string;
}

/**
 * The session for a port-forward upgrade: SPDY (kubectl) when offered, else the channel protocol
 * with the ports from the URL; a 400 naming both otherwise.
 */
export function acceptPortForward(req: Request, url: URL, runtime: ContainerRuntime, nodeName: string, ref: PodRef, log: Logger): { protocol: string; session: PortForwardSession | ChannelPortForwardSession } {
  const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  const websocket = req.headers.get("upgrade")?.toLowerCase() === "websocket";
  if (websocket && offered.includes(PORT_FORWARD_SUBPROTOCOL)) return { protocol: PORT_FORWARD_SUBPROTOCOL, session: newPortForwardSession(runtime, nodeName, ref, log) };
  if (websocket && offered.includes(PORT_FORWARD_CHANNEL_SUBPROTOCOL)) {
    let ports: number[];
    try {
      ports = parsePortForwardPorts(url.searchParams);
    } catch (e) {
      throw new ApiError(400, "BadRequest", (e as Error).message);
    }
    const { connect, describe } = podDialing(runtime, nodeName, ref);
    return { protocol: PORT_FORWARD_CHANNEL_SUBPROTOCOL, session: new ChannelPortForwardSession(connect, describe, ports, log) };
  }
  throw new ApiError(400, "BadRequest", `port-forward is served over WebSocket with the subprotocol ${PORT_FORWARD_SUBPROTOCOL} or ${PORT_FORWARD_CHANNEL_SUBPROTOCOL}`);
}

export function newPortForwardSession(runtime: ContainerRuntime, nodeName: string, ref: PodRef, log: Logger): PortForwardSession {
  const { connect, describe } = podDialing(runtime, nodeName, ref);
  return new PortForwardSession(connect, describe, log);
}

function podDialing(runtime: ContainerRuntime, nodeName: string, ref: PodRef) {
  const connect: PodConnector = async (port, handlers) => {
    const pid = await sandboxPid(runtime, nodeName, ref);
    const dialed = await dialInNetns(pid, port);
    if ("error" in dialed) throw new Error(dialed.error);
    // Half-open: a pod that ends its side may still be sent the rest of the client's bytes.
    return Bun.connect({ fd: dialed.fd, socket: handlers, allowHalfOpen: true } as unknown as Parameters<typeof Bun.connect>[0]);
  };
  // Upstream's kubelet names the pod as name_namespace with its uid.
  const describe = () => `${ref.pod}_${ref.namespace}, uid ${ref.podUid ?? ""}`;
  return { connect, describe };
}

async function sandboxPid(runtime: ContainerRuntime, nodeName: string, ref: PodRef): Promise<number> {
  const sandboxes = await runtime.listContainers({
    [NODE_LABEL]: nodeName,
    [LABELS.podNamespace]: ref.namespace,
    [LABELS.podName]: ref.pod,
    [LABELS.kind]: "pause",
    ...(ref.podUid ? { [LABELS.podUid]: ref.podUid } : {}),
  });
  if (!sandboxes.length) throw new Error(`pod not found on this node`);
  const running = sandboxes.find((c) => c.state === "running" && c.pid);
  if (!running) throw new Error(`the pod's sandbox is not running`);
  return running.pid!;
}
