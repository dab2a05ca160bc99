// The agent `bramble server` runs in-process (unless --disable-agent): the same startAgent as
// `bramble agent`, over the server's own loopback connection instead of a join, with a node
// credential of its own (system:node:<name>, not the admin), and the node labelled
// control-plane. Wired here because server/ and agent/ do not import each other.
import type { EmbeddedAgentContext } from "../server/server";
import type { HostFacts } from "./host";
import type { KubeletTuning } from "./kubelet-flags";
import { DEFAULT_DOCKER_SOCKET } from "./agent";
import type { EvictionConfig } from "../agent/eviction/thresholds";

export function embeddedAgent(host: HostFacts, node: { nodeName: string; nodeIp?: string; eviction?: EvictionConfig } & Partial<KubeletTuning>) {
  return async (ctx: EmbeddedAgentContext) => {
    const { startAgent } = await import("../agent/agent");
    // A loopback advertise address (single-machine setups, tests) is still what pods reach.
    const nodeIp = node.nodeIp ?? (ctx.advertiseAddress.startsWith("127.") ? (host.ipv4Addresses[0] ?? ctx.advertiseAddress) : ctx.advertiseAddress);
    return startAgent({
      nodeName: node.nodeName,
      nodeIp,
      labels: {},
      dataDir: ctx.dataDir,
      dockerSocket: process.env.BRAMBLE_DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET,
      controlPlane: true,
      eviction: node.eviction,
      // Tests run several servers on one machine: BRAMBLE_KUBELET_PORT=0 picks a free port.
      kubeletPort: process.env.BRAMBLE_KUBELET_PORT ? Number(process.env.BRAMBLE_KUBELET_PORT) : undefined,
      connection: { kind: "client", client: await ctx.nodeClient(node.nodeName), caCertPem: ctx.caCertPem },
      imageGc: node.imageGc,
      containerLogs: node.containerLogs,
      statsIntervalMs: node.statsIntervalMs,
    });
  };
}
