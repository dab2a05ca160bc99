// Where a pods/log, pods/exec or pods/attach request goes: the pod's container, its node, and how to reach
// and trust that node's agent. Every problem is a Status with the wording kube-apiserver uses
// (404 for a missing pod, 400 for a bad container or an unscheduled pod), and a 503 naming the
// node when its agent cannot be reached — never a 500.
import { ApiError, badRequest } from "../../../api/errors";
import { SERVING_CERT_ANNOTATION } from "../../../api/kubelet-api";
import type { Node } from "../../../api/resources/core/node";
import type { Pod } from "../../../api/resources/core/pod";
import type { ResourceDef } from "../../../api/resource";
import type { ApiContext } from "../handlers/context";

export interface AgentTarget {
  pod: Pod;
  container: string;
  node: string;
  /** https://<InternalIP>:<port> */
  base: string;
  /** The agent's own certificate: the only one trusted for this node. */
  pinnedCertPem: string;
}

export const unavailable = (message: string) => new ApiError(503, "ServiceUnavailable", message);

export function resolveAgentTarget(ctx: ApiContext, pods: ResourceDef, namespace: string, name: string, requested: string | null, what: "logs" | "exec" | "attach" | "port-forward"): AgentTarget {
  const pod = ctx.objects.get(pods, namespace, name) as Pod;
  const container = chooseContainer(pod, requested);
  const phase = pod.status?.phase;
  if (what === "exec" && (phase === "Succeeded" || phase === "Failed")) throw badRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);
  // kubectl's own words for this; other clients get them from here.
  if (what === "attach" && (phase === "Succeeded" || phase === "Failed")) throw badRequest(`cannot attach a container in a completed pod; current phase is ${phase}`);
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  const node = ctx.objects.tryGet(ctx.resource("", "nodes"), undefined, nodeName) as Node | undefined;
  if (!node) throw unavailable(`node "${nodeName}" of pod ${name} is not registered, so its ${what} cannot be reached`);
  return { pod, container, node: nodeName, ...agentEndpoint(node, `${what} of pod ${name}`) };
}

/** How to reach and trust a node's agent; a 503 naming what is `unavailableWhat` otherwise. */
export function agentEndpoint(node: Node, unavailableWhat: string): { base: string; pinnedCertPem: string } {
  const nodeName = node.metadata.name;
  const addresses = node.status?.addresses ?? [];
  const address = (addresses.find((a) => a.type === "InternalIP") ?? addresses.find((a) => a.type === "ExternalIP"))?.address;
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (!address || !port) throw unavailable(`node "${nodeName}" does not advertise an agent endpoint (address and daemonEndpoints.kubeletEndpoint.Port), so ${unavailableWhat} are unavailable`);
  const pinnedCertPem = node.metadata.annotations?.[SERVING_CERT_ANNOTATION];
  if (!pinnedCertPem) throw unavailable(`node "${nodeName}" has not published its serving certificate (annotation ${SERVING_CERT_ANNOTATION}), so ${unavailableWhat} are unavailable`);
  const host = address.includes(":") ? `[${address}]` : address;
  return { base: `https://${host}:${port}`, pinnedCertPem };
}

/** The container asked for, or the only one; kubectl itself picks a default and always sends one. */
export function chooseContainer(pod: Pod, requested: string | null): string {
  const spec = pod.spec ?? ({} as NonNullable<Pod["spec"]>);
  const app = (spec.containers ?? []).map((c) => c.name);
  const init = (spec.initContainers ?? []).map((c) => c.name);
  const ephemeral = ((spec as { ephemeralContainers?: { name: string }[] }).ephemeralContainers ?? []).map((c) => c.name);
  const name = pod.metadata.name;
  if (!requested) {
    if (app.length === 1) return app[0]!;
    const initPart = init.length ? ` or one of the init containers: [${init.join(" ")}]` : "";
    throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${app.join(" ")}]${initPart}`);
  }
  if (![...app, ...init, ...ephemeral].includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}
