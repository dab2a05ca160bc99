// `bramble sim`: N simulated nodes in one process, for tests, demos and benchmarks at a scale
// real containers cannot reach on these machines (the idea of kwok). The nodes register and
// heartbeat through the same code the real agent uses (agent/node); their "kubelet" marks pods
// bound to them Running and finishes graceful deletions. SIGKILL stops the heartbeats like a
// power cut; stop() leaves the nodes registered, like a kubelet shutting down.
import pkg from "../../../package.json" with { type: "json" };
import { ApiError } from "../../api/errors";
import { nodes as nodesDef, type Node } from "../../api/resources/core/node";
import { KubeClient } from "../../client/client";
import { Informer } from "../../client/informer";
import { Backoff } from "../../machinery/backoff";
import { createLogger } from "../../machinery/log";
import { startHeartbeat } from "../node/heartbeat";
import { registerNode } from "../node/register";
import { goArch, type NodeConfig } from "../node/spec";
import { Limiter } from "../node/timers";
import { fallbackPodCidr, PodIpam, simHostIP, usablePodIPs } from "./addresses";
import type { SimConfig } from "./config";
import { PodRunner, type SimNodeState } from "./pods";

export { SIM_DEFAULTS, type SimConfig } from "./config";

/** Marks simulated nodes, so tests and people can tell them apart (`-l node.bramble.io/simulated`). */
export const SIM_LABEL = "node.bramble.io/simulated";

export interface Sim {
  nodeNames: string[];
  /** Pods this sim has marked Running so far. */
  podsStarted(): number;
  stop(): Promise<void>;
}

const log = createLogger("sim");

export function simNodeConfig(cfg: SimConfig, index: number): NodeConfig {
  const name = `${cfg.prefix}-${index}`;
  const id = new Bun.CryptoHasher("sha256").update(name).digest("hex");
  return {
    name,
    labels: { [SIM_LABEL]: "true", ...cfg.labels },
    capacity: { cpu: cfg.cpu, memory: cfg.memory, pods: String(cfg.pods) },
    internalIP: simHostIP(index),
    nodeInfo: {
      osImage: "Bramble Simulated Node",
      kernelVersion: "sim",
      containerRuntimeVersion: `sim://${pkg.version}`,
      architecture: goArch(),
      operatingSystem: "linux",
      machineID: id.slice(0, 32),
      systemUUID: `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20, 32)}`,
      bootID: crypto.randomUUID(),
    },
  };
}

export async function startSim(cfg: SimConfig, deps: { client?: KubeClient } = {}): Promise<Sim> {
  const client = deps.client ?? KubeClient.fromKubeconfig(cfg.kubeconfig);
  const heartbeat = startHeartbeat(client, { leaseIntervalMs: cfg.heartbeatIntervalMs, statusReportIntervalMs: cfg.statusReportIntervalMs, log: log.child("heartbeat") });
  const states = new Map<string, SimNodeState>();
  let stopping = false;

  const limiter = new Limiter(16);
  const started = Date.now();
  try {
    await Promise.all(
      Array.from({ length: cfg.nodes }, (_, i) =>
        limiter.run(async () => {
          const nodeCfg = simNodeConfig(cfg, i);
          const node = await withRetry(() => registerNode(client, nodeCfg), () => stopping);
          const podCidr = node.spec?.podCIDR || fallbackPodCidr(cfg.clusterCidr, cfg.nodes, i);
          states.set(nodeCfg.name, { name: nodeCfg.name, hostIP: nodeCfg.internalIP, podCidr, ipam: new PodIpam(podCidr) });
          heartbeat.add({ config: nodeCfg, node });
        }),
      ),
    );
  } catch (e) {
    stopping = true;
    await heartbeat.stop();
    throw e;
  }
  const smallest = Math.min(...[...states.values()].map((s) => usablePodIPs(s.podCidr)));
  if (smallest < cfg.pods)
    log.warn("node pod CIDRs hold fewer addresses than --pods; extra pods will wait for an IP", { podIPsPerNode: smallest, pods: cfg.pods });

  // Seeing our own Nodes lets the heartbeat answer a status someone else wrote (Ready=Unknown
  // from the node lifecycle controller while we are alive) and forget Nodes that were deleted.
  const nodeInformer = new Informer(client.resource<Node>(nodesDef)).on({
    add: (n) => heartbeat.observe(n),
    update: (_, n) => heartbeat.observe(n),
    delete: (n) => {
      const name = n.metadata.name!;
      if (!states.delete(name)) return;
      heartbeat.remove(name);
      log.info("node was deleted; it is no longer simulated", { node: name });
    },
  });
  const runner = new PodRunner(client, states, { workers: cfg.workers, log: log.child("pods") });
  await Promise.all([nodeInformer.start(), runner.start()]);
  log.info("simulated nodes registered", { nodes: cfg.nodes, first: `${cfg.prefix}-0`, last: `${cfg.prefix}-${cfg.nodes - 1}`, ms: Date.now() - started });

  // A progress line while pods are being started, for demos and benchmarks; quiet when idle.
  let reported = 0;
  const progress = setInterval(() => {
    if (runner.started === reported) return;
    log.info("pods started", { total: runner.started, perSecond: Math.round((runner.started - reported) / 10) });
    reported = runner.started;
  }, 10_000);
  progress.unref();

  return {
    nodeNames: [...states.keys()],
    podsStarted: () => runner.started,
    async stop() {
      stopping = true;
      clearInterval(progress);
      nodeInformer.stop();
      await Promise.all([heartbeat.stop(), runner.stop()]);
    },
  };
}

/** Retries while the API server is unreachable or overloaded; anything else (401, 422) is final. */
async function withRetry<T>(f: () => Promise<T>, cancelled: () => boolean): Promise<T> {
  const backoff = new Backoff(500, 10_000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      const transient = e instanceof ApiError && (e.code >= 500 || e.code === 429);
      if (!transient || cancelled()) throw e;
      if (attempt === 1) log.warn("registration failed; retrying", { error: e.message });
      await Bun.sleep(backoff.next());
    }
  }
}
