// pods/attach: kubectl's WebSocket (v5/v4.channel.k8s.io) tunnelled to the agent's attach
// endpoint (stream.ts), joining the container's main process. The pod's spec decides what the
// session can be, before anything is dialed: stdin only into a container that keeps its stdin
// open (`stdin: true`), and a terminal exactly when the container has one (as upstream's
// kubelet takes tty from the spec, whatever the client asked).
import type { Server } from "bun";
import { badRequest } from "../../../api/errors";
import { attachPath } from "../../../api/kubelet-api";
import type { Pod } from "../../../api/resources/core/pod";
import type { KubeletTokenSigner } from "./signer";
import { requestedStreams, spliceToAgent, upgradeProtocol } from "./stream";
import type { AgentTarget } from "./target";

type ContainerIo = { name: string; stdin?: boolean; tty?: boolean };

function containerSpec(pod: Pod, name: string): ContainerIo | undefined {
  const spec = (pod.spec ?? {}) as { containers?: ContainerIo[]; initContainers?: ContainerIo[]; ephemeralContainers?: ContainerIo[] };
  return [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])].find((c) => c.name === name);
}

export async function proxyAttach(t: AgentTarget, sign: KubeletTokenSigner, req: Request, url: URL, server?: Server<unknown>): Promise<Response> {
  const streams = requestedStreams(url).filter((k) => k !== "tty");
  const spec = containerSpec(t.pod, t.container);
  const podName = t.pod.metadata.name!;
  if (streams.includes("stdin") && !spec?.stdin) {
    throw badRequest(`container ${t.container} in pod ${podName} does not accept stdin: it was created without stdin: true, so only its output can be attached`);
  }
  const protocol = upgradeProtocol(req, server, "attach");
  const upstream = new URL(attachPath(t.pod.metadata.namespace ?? "default", podName, t.container), t.base.replace(/^https:/, "wss:"));
  for (const k of streams) upstream.searchParams.set(k, "true");
  if (spec?.tty) upstream.searchParams.set("tty", "true");
  upstream.searchParams.set("container", t.container);
  return spliceToAgent(t, sign, req, server!, upstream, protocol, "attach");
}
