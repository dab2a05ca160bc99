// The pod network of one node: wait for the control plane to give the node its
// podCIDR, put a Docker bridge network on it for the kubelet's pods, turn on forwarding, route
// every other node's podCIDR (host-gw), accept and masquerade in bramble's own iptables chains,
// and keep the Service range from leaving the node. Everything is re-checked periodically and
// on every Node change; nothing is torn down on stop (pods keep their network across restarts;
// `bramble reset` removes it all, see reset.ts).
import type { ClusterNetwork } from "../cluster-network";
import type { KubeClient } from "../../client/client";
import { Informer } from "../../client/informer";
import type { Node } from "../../api/resources/core/node";
import { nodes as nodesDef } from "../../client/refs";
import type { Logger } from "../../machinery/log";
import { mustRun, runCommand, type CommandRunner } from "../host/run";
import type { ContainerRuntime } from "../runtime/runtime";
import { hostGwBackend, type PodNetworkBackend } from "./backend";
import { ensureBridgeNetwork } from "./bridge-network";
import { applyPodNetRules } from "./iptables";
import { POD_BRIDGE, POD_DOCKER_NETWORK } from "./names";
import { peersOf, type Peer } from "./peers";
import { ensureServiceRoutes, removeServiceRoutes } from "./service-route";

export interface PodNetworkOptions {
  client: KubeClient;
  runtime: ContainerRuntime;
  /** The cluster's identity: its Docker network carries it, another cluster's is never taken over. */
  clusterId?: string;
  nodeName: string;
  nodeIp: string;
  cluster: ClusterNetwork;
  /** Where ip/iptables/sysctl run; the host by default, a test's namespace in tests. */
  run?: CommandRunner;
  log: Logger;
  /** Docker network and bridge names; tests sharing one engine pick their own. */
  dockerNetwork?: string;
  bridge?: string;
  /** How often routes, chains and the Service route are re-checked (default 60 s). */
  resyncIntervalMs?: number;
  /** Gives up a start-up still waiting for the podCIDR (the agent is stopping). */
  signal?: AbortSignal;
}

export interface PodNetwork {
  dockerNetwork: string;
  podCidr: string;
  gateway: string;
  /** Stops watching Nodes and resyncing; leaves the network in place. */
  stop(): Promise<void>;
}

export async function startPodNetwork(o: PodNetworkOptions): Promise<PodNetwork> {
  const run = o.run ?? runCommand;
  const log = o.log;
  const dockerNetwork = o.dockerNetwork ?? POD_DOCKER_NETWORK;
  const bridge = o.bridge ?? POD_BRIDGE;
  const backend: PodNetworkBackend = hostGwBackend(run, log);

  let podCidrKnown!: (cidr: string) => void;
  const podCidrSet = new Promise<string>((resolve, reject) => {
    podCidrKnown = resolve;
    const aborted = () => reject(new Error("the pod network's start-up was cancelled"));
    if (o.signal?.aborted) aborted();
    o.signal?.addEventListener("abort", aborted, { once: true });
  });
  podCidrSet.catch(() => {}); // awaited below; an early abort must not count as unhandled
  let podCidr = "";
  let ready = false;
  const watchSelf = (n: Node) => {
    if (n.metadata.name !== o.nodeName || !n.spec?.podCIDR) return;
    if (!podCidr) podCidrKnown(n.spec.podCIDR);
    else if (n.spec.podCIDR !== podCidr) {
      log.error("this node's podCIDR changed while the agent runs; restart the agent to move its pods to the new range", { was: podCidr, now: n.spec.podCIDR });
    }
  };

  // Peer syncs run one at a time; a change during a sync triggers one more afterwards.
  // A forced sync (start, periodic resync) checks the kernel even when the peers look unchanged.
  let syncing: Promise<void> | undefined;
  let again = false;
  let forceNext = false;
  let lastPeers = "";
  const syncPeers = (force = false): Promise<void> => {
    if (!ready) return Promise.resolve();
    forceNext ||= force;
    if (syncing) {
      again = true;
      return syncing;
    }
    syncing = (async () => {
      do {
        again = false;
        const peers: Peer[] = peersOf(informer.list(), o.nodeName);
        const key = JSON.stringify(peers);
        if (!forceNext && key === lastPeers) continue;
        forceNext = false;
        try {
          await backend.syncPeers(peers);
          lastPeers = key;
        } catch (e) {
          log.error("syncing routes to other nodes failed; retrying at the next resync", { err: e });
        }
      } while (again);
    })().finally(() => (syncing = undefined));
    return syncing;
  };

  // Every node's heartbeats arrive here: keep only what routing needs, not images and conditions.
  const informer = new Informer<Node>(o.client.resource<Node>(nodesDef), { transform: routingFields }).on({
    add: (n) => (watchSelf(n), void syncPeers()),
    update: (_, n) => (watchSelf(n), void syncPeers()),
    delete: () => void syncPeers(),
  });
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = async () => {
    ready = false;
    informer.stop();
    if (timer) clearInterval(timer);
    await syncing;
  };

  try {
    await informer.start();
    // A node stays without a podCIDR when the cluster range is full (a CIDRNotAvailable event on
    // the Node says so); keep saying why pods cannot start rather than fail and retry.
    const slow = setInterval(() => log.warn("waiting for the control plane to give this node a podCIDR; is --cluster-cidr full?", { node: o.nodeName, clusterCIDR: o.cluster.clusterCidr }), 30_000);
    podCidr = await podCidrSet.finally(() => clearInterval(slow));

    const gateway = await ensureBridgeNetwork(o.runtime, { name: dockerNetwork, bridge, podCidr, clusterId: o.clusterId }, log);
    const hostSetup = async () => {
      await mustRun(run, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      await applyPodNetRules(run, o.cluster.clusterCidr);
      // Without bramble's proxy (--disable-kube-proxy) another one owns the Service range.
      if (o.cluster.serviceProxy) await ensureServiceRoutes(run, o.cluster.serviceCidr, o.nodeIp);
      else await removeServiceRoutes(run);
    };
    await hostSetup();
    await backend.init();
    ready = true;
    await syncPeers(true);

    timer = setInterval(() => {
      void hostSetup()
        .catch((e) => log.error("re-checking the pod network's host setup failed", { err: e }))
        .then(() => syncPeers(true));
    }, o.resyncIntervalMs ?? 60_000);
    log.info("pod network up", { backend: backend.name, podCIDR: podCidr, network: dockerNetwork, bridge, gateway, peers: peersOf(informer.list(), o.nodeName).length });
    return { dockerNetwork, podCidr, gateway, stop };
  } catch (e) {
    // The caller retries start-up: leave no watcher or timer behind.
    await stop();
    throw e;
  }
}

/** The parts of a Node the pod network reads (name, podCIDR, addresses). */
function routingFields(n: Node): Node {
  return {
    apiVersion: n.apiVersion,
    kind: n.kind,
    metadata: { name: n.metadata.name, resourceVersion: n.metadata.resourceVersion, uid: n.metadata.uid },
    spec: { podCIDR: n.spec?.podCIDR },
    status: { addresses: n.status?.addresses },
  } as Node;
}
