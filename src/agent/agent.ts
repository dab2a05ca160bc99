// startAgent(cfg): everything a node runs, in order — credentials (join, or the server's own
// connection when embedded), node registration with the host's facts, heartbeats, a watch on
// the Docker engine's health, then the kubelet. `bramble agent` and the agent embedded in
// `bramble server` both come through here.
import { KUBERNETES_SERVICE } from "../api/cluster-network";
import { ApiError } from "../api/errors";
import type { Node } from "../api/resources/core/node";
import { nodes as nodesDef } from "../client/refs";
import { KubeClient } from "../client/client";
import { Informer } from "../client/informer";
import { Backoff } from "../machinery/backoff";
import { firstServiceIp } from "../machinery/cidr";
import { createLogger, type Logger } from "../machinery/log";
import { ensureJoined, JoinRefused } from "./join/join";
import { DEFAULT_IMAGE_GC_POLICY, type ImageGcPolicy } from "./images/gc";
import { startKubeletIfPresent } from "./kubelet-loader";
import { startLocalPathCleaner } from "./storage/local-path-cleaner";
import type { Kubelet } from "./kubelet/kubelet";
import type { ContainerLogPolicy } from "./runtime/runtime";
import { startEvictionManager } from "./eviction/start";
import type { ReclaimDisk } from "./eviction/manager";
import type { EvictionConfig } from "./eviction/thresholds";
import { clusterIdOf } from "./kubelet/names";
import type { NodeHealth } from "./node/conditions";
import { dockerDownCondition, probeDocker, type DockerStatus } from "./node/docker-probe";
import { startHeartbeat } from "./node/heartbeat";
import { hostCapacity, hostSystemFacts } from "./node/host";
import { registerNode } from "./node/register";
import type { NodeConfig } from "./node/spec";
import { advertiseServingCert, startNodeEndpoint, type NodeEndpoint } from "./server/index";
import { readClusterNetwork, startPodNetworking, type NodeNetworking } from "./networking";

export const CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane";

/** How the agent reaches the API server: join with a token, or a connection it is handed. */
export type AgentConnection =
  | { kind: "join"; server?: string; token?: string; caCertHash?: string }
  | { kind: "client"; client: KubeClient; caCertPem: string };

export interface AgentConfig {
  nodeName: string;
  nodeIp: string;
  /** --node-label values; win over the defaults. */
  labels: Record<string, string>;
  dataDir: string;
  dockerSocket: string;
  connection: AgentConnection;
  /** Servers label their node control-plane. */
  controlPlane?: boolean;
  heartbeatIntervalMs?: number;
  dockerProbeIntervalMs?: number;
  /** Where logs and exec are served (HTTPS, all interfaces); default 10250, 0 picks a free port. */
  kubeletPort?: number;
  /** --image-gc-high-threshold, --image-gc-low-threshold, --minimum-image-ttl-duration (upstream's defaults when unset). */
  imageGc?: ImageGcPolicy;
  /** --container-log-max-size, --container-log-max-files (10Mi × 2 when unset). */
  containerLogs?: ContainerLogPolicy;
  /** --housekeeping-interval: how often resource usage is read for metrics (default 15 s). */
  statsIntervalMs?: number;
  /** --eviction-* thresholds; upstream's defaults when absent. */
  eviction?: EvictionConfig;
  /** Frees disk on the image filesystem before pods are evicted for it. */
  reclaimDisk?: ReclaimDisk;
  /** How often pressure is measured (ms; upstream's 10 s by default). */
  evictionMonitorIntervalMs?: number;
}

export interface RunningAgent {
  nodeName: string;
  stop(): Promise<void>;
}

export { JoinRefused };

export async function startAgent(cfg: AgentConfig, log: Logger = createLogger("agent")): Promise<RunningAgent> {
  const abort = new AbortController();
  const conn = await connect(cfg, log, abort.signal);
  // Joined or embedded, the agent holds the cluster's CA by now: its identity on the engine.
  const clusterId = clusterIdOf(conn.caCertPem);
  const cluster = await readClusterNetwork(conn.client, log, abort.signal);

  let docker: DockerStatus = await probeDocker(cfg.dockerSocket);
  if (!docker.reachable) log.warn("the Docker engine is unreachable; the node reports NotReady until it answers", { socket: cfg.dockerSocket, error: docker.error });
  const nodeCfg: NodeConfig = {
    name: cfg.nodeName,
    labels: { ...(cfg.controlPlane ? { [CONTROL_PLANE_LABEL]: "true" } : {}), ...cfg.labels },
    capacity: hostCapacity(),
    internalIP: cfg.nodeIp,
    nodeInfo: hostSystemFacts(docker.runtimeVersion),
  };
  // Before registering: the Node advertises the port it listens on. Without it the node still
  // runs pods; only logs and exec are unavailable (and the API server says so).
  let endpoint: NodeEndpoint | undefined;
  try {
    endpoint = await startNodeEndpoint({ nodeName: cfg.nodeName, nodeIp: cfg.nodeIp, dataDir: cfg.dataDir, caCertPem: conn.caCertPem, dockerSocket: cfg.dockerSocket, port: cfg.kubeletPort, log: log.child("endpoint"), statsIntervalMs: cfg.statsIntervalMs });
    nodeCfg.kubeletPort = endpoint.port;
  } catch (e) {
    log.error("cannot serve logs and exec; the node runs pods without them", { err: e });
  }
  // Until the pod network is up, the node says so the way upstream's kubelet does.
  let networkProblem: string | undefined = cluster.podNetwork === "none" ? undefined : "the pod network is starting";
  // Pressure from real measurements; pods are evicted through the kubelet once it runs.
  let kubelet: Kubelet | undefined;
  let localPathCleaner: { stop(): void } | undefined;
  let heartbeatRef: { healthChanged(name: string): void } | undefined;
  const eviction = await startEvictionManager({
    config: cfg.eviction,
    dataDir: cfg.dataDir,
    dockerSocket: cfg.dockerSocket,
    kubelet: () => kubelet,
    // The kubelet's image and container GC frees the image filesystem before any pod is evicted.
    reclaim: cfg.reclaimDisk ?? (async (r) => kubelet?.reclaimDisk({ targetFreeBytes: r.targetAvailableBytes })),
    conditionsChanged: () => heartbeatRef?.healthChanged(cfg.nodeName),
    intervalMs: cfg.evictionMonitorIntervalMs,
    log: log.child("eviction"),
  });
  const health = (): NodeHealth => ({
    ...eviction.health(),
    ...(!docker.reachable
      ? { Ready: dockerDownCondition(cfg.dockerSocket, docker.error) }
      : networkProblem
        ? { Ready: { status: "False", reason: "KubeletNotReady", message: `container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:${networkProblem}` } }
        : {}),
  });

  const node = await registerWithRetry(conn.client, nodeCfg, health, log, abort.signal);
  log.info("node registered", { node: cfg.nodeName, internalIP: cfg.nodeIp, runtime: nodeCfg.nodeInfo.containerRuntimeVersion });
  if (endpoint) await advertiseServingCert(conn.client, cfg.nodeName, endpoint.certPem).catch((e) => log.warn("publishing the serving certificate failed; logs and exec will be refused", { error: (e as Error).message }));
  const heartbeat = startHeartbeat(conn.client, { leaseIntervalMs: cfg.heartbeatIntervalMs, log: log.child("heartbeat") });
  heartbeat.add({ config: nodeCfg, node, health });
  heartbeatRef = heartbeat;

  // Our own Node as others write it: a Ready=Unknown from the node lifecycle controller while we
  // are alive gets corrected at once instead of at the next periodic report.
  const informer = new Informer(conn.client.resource<Node>(nodesDef), { fieldSelector: `metadata.name=${cfg.nodeName}` }).on({
    add: (n) => heartbeat.observe(n),
    update: (_, n) => heartbeat.observe(n),
  });
  void informer.start().catch((e) => log.warn("watching the node failed", { error: (e as Error).message }));

  const probe = setInterval(async () => {
    const now = await probeDocker(cfg.dockerSocket);
    if (now.reachable === docker.reachable && now.runtimeVersion === (docker.runtimeVersion ?? now.runtimeVersion)) return;
    if (now.reachable) log.info("the Docker engine is reachable", { socket: cfg.dockerSocket, version: now.runtimeVersion });
    else log.warn("the Docker engine is unreachable; reporting NotReady", { socket: cfg.dockerSocket, error: now.error });
    docker = now;
    // heartbeat reads nodeInfo from this same object on every status report.
    if (now.runtimeVersion) nodeCfg.nodeInfo.containerRuntimeVersion = now.runtimeVersion;
    heartbeat.healthChanged(cfg.nodeName);
  }, cfg.dockerProbeIntervalMs ?? 5_000);

  // Pods start only once they have their network: the pod network first (retried until it
  // comes up; the node is NotReady meanwhile), then the kubelet, then Services and DNS.
  let networking: NodeNetworking | undefined;
  const startNode = async () => {
    const backoff = new Backoff(2_000, 30_000);
    while (!abort.signal.aborted) {
      try {
        networking = await startPodNetworking({ client: conn.client, cluster, clusterId, nodeName: cfg.nodeName, nodeIp: cfg.nodeIp, dockerSocket: cfg.dockerSocket, log: log.child("net"), signal: abort.signal });
        break;
      } catch (e) {
        networkProblem = (e as Error).message;
        heartbeat.healthChanged(cfg.nodeName);
        const delay = backoff.next();
        log.error("the pod network is not ready; retrying", { err: e, retryInMs: delay });
        await Bun.sleep(delay);
      }
    }
    if (abort.signal.aborted || !networking) return;
    if (networkProblem) {
      networkProblem = undefined;
      heartbeat.healthChanged(cfg.nodeName);
    }
    try {
      kubelet = await startKubeletIfPresent(conn.client, cfg.dockerSocket, {
        nodeName: cfg.nodeName,
        clusterId,
        dataDir: cfg.dataDir,
        clusterDns: cluster.clusterDns,
        clusterDomain: cluster.clusterDomain,
        podNetwork: networking.podNetwork,
        // Pods reach the API server as upstream's do, through the `kubernetes` Service: the
        // server gives it the first address of the service range and port 443.
        apiServerHost: firstServiceIp(cluster.serviceCidr),
        apiServerPort: KUBERNETES_SERVICE.port,
        caCertPem: conn.caCertPem,
        nodeIp: cfg.nodeIp,
        imageGc: cfg.imageGc ?? DEFAULT_IMAGE_GC_POLICY,
        containerLogs: cfg.containerLogs,
        admitPod: (pod) => eviction.admit(pod),
      }, log);
      if (kubelet) localPathCleaner = startLocalPathCleaner(conn.client, cfg.nodeName, log.child("local-path"));
    } catch (e) {
      log.error("the kubelet did not start; the node keeps heartbeating", { err: e });
    }
    await networking.startServices();
  };
  // Without a pod network the kubelet is running when this returns (callers and tests rely on
  // it). With one, the pod network may wait for this node's podCIDR (a full cluster range), so
  // this returns after registration: the node reports NotReady until its network is up.
  const started = startNode();
  if (cluster.podNetwork === "none") await started;

  let stopping: Promise<void> | undefined;
  return {
    nodeName: cfg.nodeName,
    stop: () =>
      (stopping ??= (async () => {
        abort.abort();
        clearInterval(probe);
        informer.stop();
        // A start still under way finishes (or gives up on the abort) first, so nothing it
        // starts is left running.
        await started.catch(() => {});
        localPathCleaner?.stop();
        await eviction.stop();
        await Promise.resolve(kubelet?.stop()).catch((e) => log.error("stopping the kubelet failed", { err: e }));
        await networking?.stop();
        await heartbeat.stop();
        await endpoint?.stop().catch((e) => log.error("stopping the logs/exec endpoint failed", { err: e }));
      })()),
  };
}

async function connect(cfg: AgentConfig, log: Logger, signal: AbortSignal) {
  const c = cfg.connection;
  if (c.kind === "client") return c;
  const creds = await ensureJoined({ server: c.server, token: c.token, caCertHash: c.caCertHash, nodeName: cfg.nodeName, dataDir: cfg.dataDir, log, signal });
  return {
    client: new KubeClient({ server: creds.server, caCertPem: creds.caCertPem, token: creds.token, namespace: "default" }),
    caCertPem: creds.caCertPem,
  };
}

/** Registration waits out an unreachable or overloaded server; a refused credential is final. */
async function registerWithRetry(client: KubeClient, nodeCfg: NodeConfig, health: () => NodeHealth, log: Logger, signal: AbortSignal): Promise<Node> {
  const backoff = new Backoff(1_000, 30_000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await registerNode(client, nodeCfg, { health: health() });
    } catch (e) {
      if (e instanceof ApiError && (e.code === 401 || e.code === 403)) {
        throw new JoinRefused(`the API server refused this node's credential (${e.message}); run bramble reset and join again with a new token`);
      }
      const transient = e instanceof ApiError && (e.code >= 500 || e.code === 429);
      if (!transient || signal.aborted) throw e;
      const delay = backoff.next();
      log.warn("cannot register the node yet; retrying", { error: e.message, attempt, retryInMs: delay });
      await Bun.sleep(delay);
    }
  }
}
