// Starts the kubelet (src/agent/kubelet/) on the node's Docker engine. A literal import, so the
// compiled binary embeds it.
import type { Pod } from "../api/resources/core/pod";
import type { KubeClient } from "../client/client";
import type { Logger } from "../machinery/log";
import type { ImageGcPolicy } from "./images/gc";
import { startKubelet, type Kubelet } from "./kubelet/kubelet";
import type { ContainerLogPolicy } from "./runtime/runtime";
import { serviceAccountTokenRequester } from "./kubelet/token";
import { DockerRuntime } from "./runtime/docker/docker";

export interface KubeletOptions {
  nodeName: string;
  /** The cluster's identity on this node's containers (kubelet/names.ts clusterIdOf). */
  clusterId: string;
  /** The node's InternalIP, reported as pods' status.hostIP. */
  nodeIp?: string;
  dataDir: string;
  clusterDns?: string;
  clusterDomain?: string;
  apiServerHost: string;
  apiServerPort: number;
  caCertPem: string;
  /** The Docker network pods join: the pod network's bridge for this node's podCIDR, or "bridge". */
  podNetwork?: string;
  imageGc?: ImageGcPolicy;
  containerLogs?: ContainerLogPolicy;
  /** Whether a new pod may start (node pressure). */
  admitPod?(pod: Pod): { reason: string; message: string } | undefined;
}

export async function startKubeletIfPresent(client: KubeClient, dockerSocket: string, opts: KubeletOptions, log: Logger): Promise<Kubelet | undefined> {
  log.debug("starting the kubelet", { node: opts.nodeName, socket: dockerSocket });
  // Pods' service-account tokens come from the API server, through this node's credential.
  return startKubelet(client, new DockerRuntime(dockerSocket), { ...opts, nodeIP: opts.nodeIp, serviceAccountToken: serviceAccountTokenRequester(client) });
}
