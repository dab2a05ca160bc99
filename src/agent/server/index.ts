// What startAgent calls: the node's HTTPS endpoint for logs and exec, with its certificate,
// and the one write that tells the API server how to trust it.
import type { Node } from "../../api/resources/core/node";
import { nodes } from "../../client/refs";
import { DEFAULT_KUBELET_PORT, SERVING_CERT_ANNOTATION } from "../../api/kubelet-api";
import type { KubeClient } from "../../client/client";
import type { Logger } from "../../machinery/log";
import { DockerRuntime } from "../runtime/docker/docker";
import type { ContainerRuntime } from "../runtime/runtime";
import { startAgentServer, type AgentServer } from "./server";
import { ensureServingCert } from "./tls";

export { startAgentServer, type AgentServer, type AgentServerOptions } from "./server";

export interface NodeEndpointOptions {
  nodeName: string;
  nodeIp: string;
  dataDir: string;
  caCertPem: string;
  dockerSocket: string;
  /** Default 10250; 0 picks a free port. */
  port?: number;
  runtime?: ContainerRuntime;
  log: Logger;
  /** --housekeeping-interval: how often resource usage is read. */
  statsIntervalMs?: number;
}

export interface NodeEndpoint extends AgentServer {
  certPem: string;
}

export async function startNodeEndpoint(o: NodeEndpointOptions): Promise<NodeEndpoint> {
  const cert = await ensureServingCert(o.dataDir, { nodeName: o.nodeName, ips: [o.nodeIp] });
  if (cert.issuedBecause) o.log.info("issued the agent's serving certificate", { reason: cert.issuedBecause });
  const port = o.port ?? DEFAULT_KUBELET_PORT;
  let server: AgentServer;
  try {
    server = startAgentServer({ nodeName: o.nodeName, runtime: o.runtime ?? new DockerRuntime(o.dockerSocket), caCertPem: o.caCertPem, certPem: cert.certPem, keyPem: cert.keyPem, port, log: o.log, statsIntervalMs: o.statsIntervalMs });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new Error(`port ${port} for logs and exec is already in use (another bramble agent or a kubelet?); pick another with --kubelet-port (bramble agent) or BRAMBLE_KUBELET_PORT (the agent inside bramble server)`);
    throw e;
  }
  o.log.info("serving logs and exec", { port: server.port });
  return { ...server, certPem: cert.certPem };
}

/** Publishes the certificate the API server pins for this node (a node may patch its own Node). */
export async function advertiseServingCert(client: KubeClient, nodeName: string, certPem: string): Promise<void> {
  await client.resource<Node>(nodes).patch(undefined, nodeName, { metadata: { annotations: { [SERVING_CERT_ANNOTATION]: certPem } } });
}
