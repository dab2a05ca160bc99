// The agent's port-forward endpoint: the pod's sandbox (pause container) holds its network
// namespace, so every forwarded connection is dialled there (netns-dial.ts), found afresh per
// connection so a restarted sandbox is picked up and a deleted pod is reported as such.
import type { Logger } from "../../../machinery/log";
import { NODE_LABEL } from "../../kubelet/names";
import { LABELS, type ContainerRuntime } from "../../runtime/runtime";
import { dialInNetns } from "./netns-dial";
import { PortForwardSession, type PodConnector } from "./session";

export { PortForwardSession } from "./session";

export interface PodRef {
  namespace: string;
  pod: string;
  podUid?: string;
}

export function newPortForwardSession(runtime: ContainerRuntime, nodeName: string, ref: PodRef, log: Logger): PortForwardSession {
  const connect: PodConnector = async (port, handlers) => {
    const pid = await sandboxPid(runtime, nodeName, ref);
    const dialed = await dialInNetns(pid, port);
    if ("error" in dialed) throw new Error(dialed.error);
    // Half-open: a pod that ends its side may still be sent the rest of the client's bytes.
    return Bun.connect({ fd: dialed.fd, socket: handlers, allowHalfOpen: true } as unknown as Parameters<typeof Bun.connect>[0]);
  };
  // Upstream's kubelet names the pod as name_namespace with its uid.
  const describe = () => `${ref.pod}_${ref.namespace}, uid ${ref.podUid ?? ""}`;
  return new PortForwardSession(connect, describe, log);
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
