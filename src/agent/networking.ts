// A node's networking, started by startAgent in this order: the cluster's settings (published by
// the server), the pod network (a bridge for this node's podCIDR and host-gw routes to the
// others), then — once pods have somewhere to go — the Service proxy and the cluster DNS. Each
// part can be switched off cluster-wide with the k3s flags; a part that fails is logged and the
// node keeps running pods.
import { ApiError } from "../api/errors";
import { CLUSTER_NETWORK_CONFIGMAP, clusterNetworkFromData, type ClusterNetwork } from "../api/cluster-network";
import type { ConfigMap } from "../api/resources/core/configmap";
import { configMaps as configMapsDef } from "../client/refs";
import type { KubeClient } from "../client/client";
import { Backoff } from "../machinery/backoff";
import type { Logger } from "../machinery/log";
import { ensureDnsAddress, startClusterDns } from "./dns/index";
import { startPodNetwork } from "./network/index";
import { startServiceProxy } from "./proxy/index";
import { DockerRuntime } from "./runtime/docker/docker";
import { ServiceSlices } from "./service-slices";

/** Reads the settings, waiting out an unreachable server; a server too old to publish them means the defaults. */
export async function readClusterNetwork(client: KubeClient, log: Logger, signal: AbortSignal): Promise<ClusterNetwork> {
  const backoff = new Backoff(1_000, 30_000);
  for (;;) {
    try {
      const cm = await client.resource<ConfigMap>(configMapsDef).get(CLUSTER_NETWORK_CONFIGMAP.namespace, CLUSTER_NETWORK_CONFIGMAP.name);
      return clusterNetworkFromData(cm.data);
    } catch (e) {
      if (e instanceof ApiError && (e.code === 404 || e.code === 403)) {
        log.warn("the server publishes no networking settings; using the defaults", { error: e.message });
        return clusterNetworkFromData(undefined);
      }
      if (signal.aborted) throw e;
      const delay = backoff.next();
      log.warn("cannot read the cluster's networking settings yet; retrying", { error: (e as Error).message, retryInMs: delay });
      await Bun.sleep(delay);
    }
  }
}

export interface NodeNetworking {
  /** The Docker network pods join ("bridge" without a pod network). */
  podNetwork: string;
  /** Starts what needs pods to have a network: the Service proxy and the cluster DNS. */
  startServices(): Promise<void>;
  stop(): Promise<void>;
}

export interface NodeNetworkingOptions {
  client: KubeClient;
  cluster: ClusterNetwork;
  /** The cluster's identity, on its Docker network (kubelet/names.ts clusterIdOf). */
  clusterId?: string;
  nodeName: string;
  nodeIp: string;
  dockerSocket: string;
  /** The ingress controller's ports; it runs unless the cluster has --disable ingress. */
  ingress?: IngressPorts;
  log: Logger;
  signal: AbortSignal;
}

export interface IngressPorts {
  httpPort?: number;
  httpsPort?: number;
}

export async function startPodNetworking(o: NodeNetworkingOptions): Promise<NodeNetworking> {
  const stops: (() => Promise<void>)[] = [];
  let podNetwork = "bridge";
  if (o.cluster.podNetwork === "host-gw") {
    const net = await startPodNetwork({ client: o.client, runtime: new DockerRuntime(o.dockerSocket), clusterId: o.clusterId, nodeName: o.nodeName, nodeIp: o.nodeIp, cluster: o.cluster, log: o.log.child("network"), signal: o.signal });
    o.log.info("pod network ready", { podCIDR: net.podCidr, network: net.dockerNetwork });
    podNetwork = net.dockerNetwork;
    stops.push(() => net.stop());
  }
  return {
    podNetwork,
    async startServices() {
      // One watch of EndpointSlices for the proxy and the DNS together (none when both are off).
      const ingressOn = o.cluster.ingress !== false;
      const slices = o.cluster.serviceProxy || o.cluster.clusterDnsServer || ingressOn ? new ServiceSlices(o.client) : undefined;
      if (slices) stops.push(async () => slices.stop());
      if (o.cluster.serviceProxy) {
        try {
          const proxy = await startServiceProxy({ client: o.client, nodeName: o.nodeName, nodeIps: [o.nodeIp], cluster: o.cluster, slices, log: o.log.child("proxy") });
          stops.push(() => proxy.stop());
        } catch (e) {
          o.log.error("the Service proxy did not start; Services are unreachable from this node", { err: e });
        }
      }
      // After the proxy: its jumps go to the top of FORWARD, and ours must come before them.
      if (o.cluster.podNetwork === "host-gw" && o.cluster.networkPolicy !== false) {
        try {
          const { startNetworkPolicy } = await import("./netpol/index");
          const netpol = await startNetworkPolicy({ client: o.client, nodeName: o.nodeName, log: o.log.child("netpol") });
          stops.push(() => netpol.stop());
        } catch (e) {
          o.log.error("network policy enforcement did not start; this node's pods are not isolated", { err: e });
        }
      }
      if (o.cluster.clusterDnsServer) {
        try {
          await ensureDnsAddress(o.cluster.clusterDns);
          const dns = await startClusterDns({ client: o.client, cluster: o.cluster, listen: { address: o.cluster.clusterDns }, slices, log: o.log.child("dns") });
          stops.push(() => dns.stop());
        } catch (e) {
          o.log.error("the cluster DNS did not start; pods on this node cannot resolve cluster names", { err: e, address: o.cluster.clusterDns });
        }
      }
      if (ingressOn && slices) {
        try {
          // Loaded only when it runs: a node with --disable ingress never pays for it.
          const { startIngressController } = await import("./ingress/index");
          const ingress = await startIngressController({ client: o.client, slices, nodeName: o.nodeName, httpPort: o.ingress?.httpPort, httpsPort: o.ingress?.httpsPort, log: o.log.child("ingress") });
          stops.push(() => ingress.stop());
        } catch (e) {
          o.log.error("the ingress controller did not start; Ingresses are not served on this node", { err: e, ports: o.ingress });
        }
      }
    },
    async stop() {
      for (const stop of stops.reverse()) await stop().catch((e) => o.log.error("stopping networking failed", { err: e }));
    },
  };
}
