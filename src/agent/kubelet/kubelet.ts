// The kubelet: pods bound to this node (one informer, fieldSelector spec.nodeName) reconciled
// one at a time per pod on the shared ControlLoop, against what the runtime reports. A relist
// every second (like upstream's PLEG) notices containers that exited or vanished; containers of
// pods that no longer exist, and bramble containers that belong to no pod, are removed — only
// this node's of this cluster (names.ts ownership): other clusters may share the engine.
import { runtimeCounts } from "./metrics";
import { availableParallelism, totalmem } from "node:os";
import { join } from "node:path";
import type { Node } from "../../api/resources/core/node";
import type { Pod } from "../../api/resources/core/pod";
import { nodes as nodesDef, pods as podsDef } from "../../client/refs";
import type { KubeClient } from "../../client/client";
import { EventRecorder } from "../../client/events";
import { Informer } from "../../client/informer";
import { createLogger } from "../../machinery/log";
import { ControlLoop } from "../../machinery/controlloop";
import { DEFAULT_IMAGE_GC_POLICY, ImageGarbageCollector, reclaimDisk, type ImageGcPolicy, type ReclaimResult, type ReclaimTarget } from "../images/gc";
import { importImages } from "../images/import";
import { ensurePauseImage } from "../images/pause";
import { LABELS, type ContainerInfo, type ContainerLogPolicy, type ContainerRuntime } from "../runtime/runtime";
import { ownership } from "./names";
import { ProbeManager } from "./probes";
import { ImagePuller } from "./pull";
import { PodSync } from "./sync";

export interface KubeletOptions {
  nodeName: string;
  /**
   * The cluster's identity (names.ts clusterIdOf). With the node name it tells this kubelet's
   * containers from those of other nodes and other clusters sharing the Docker engine.
   */
  clusterId: string;
  dataDir: string;
  clusterDns?: string;
  clusterDomain?: string;
  apiServerHost: string;
  apiServerPort: number;
  caCertPem: string;
  /** Docker network for pause containers; "bridge" by default. */
  podNetwork?: string;
  /** The node's IP (status.hostIP); read from the Node's InternalIP when not given. */
  nodeIP?: string;
  /** Token for a pod's service account; without it pods get an empty token file. */
  serviceAccountToken?: (pod: Pod, audience?: string, expirationSeconds?: number) => Promise<string>;
  /** How often the runtime is relisted for exits (ms). */
  relistIntervalMs?: number;
  /** Every pod is re-synced this often (ms; 30 s by default): content volumes follow their sources. */
  resyncIntervalMs?: number;
  /** Pod workers in parallel. */
  workers?: number;
  /** Image garbage collection (--image-gc-*); none when unset (the agent always sets it). */
  imageGc?: ImageGcPolicy;
  /** Log rotation of pods' containers (--container-log-max-size/--container-log-max-files). */
  containerLogs?: ContainerLogPolicy;
  /** Whether a new pod may start (node pressure); see SyncConfig.admitPod. */
  admitPod?(pod: Pod): { reason: string; message: string } | undefined;
}

export interface Kubelet {
  stop(): Promise<void>;
  /**
   * Frees space on the image filesystem for the pressure monitor (images/gc.ts reclaimDisk) with
   * this kubelet's knowledge: its image usage records, its containers, which pods are over.
   */
  reclaimDisk(target: ReclaimTarget): Promise<ReclaimResult>;
  /** Pods bound here that may still run (not terminal, not being deleted). */
  activePods(): Pod[];
  /** A pod's containers on this node. */
  podContainers(uid: string): Promise<ContainerInfo[]>;
  /**
   * Kills the pod now and reports it Failed/Evicted with this message; resolves once the API
   * shows it terminal (false when that did not happen within upstream's 30 s cleanup wait).
   */
  evict(pod: Pod, message: string, eventAnnotations?: Record<string, string>): Promise<boolean>;
}

/** Upstream's eviction manager waits this long for an evicted pod to be cleaned up. */
const EVICTION_CLEANUP_TIMEOUT_MS = 30_000;
const isTerminal = (pod: Pod | undefined) => pod?.status?.phase === "Succeeded" || pod?.status?.phase === "Failed";

export async function startKubelet(client: KubeClient, runtime: ContainerRuntime, opts: KubeletOptions): Promise<Kubelet> {
  const log = createLogger("kubelet");
  const network = opts.podNetwork ?? "bridge";
  const version = await runtime.version();
  await importImages(runtime, join(opts.dataDir, "agent", "images"));
  const pauseImage = await ensurePauseImage(runtime, version.arch);

  let hostIP = opts.nodeIP;
  const readNodeIP = async () => {
    if (hostIP) return;
    try {
      const node = await client.resource<Node>(nodesDef).get(undefined, opts.nodeName);
      hostIP = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    } catch {}
  };
  await readNodeIP();

  const byUid = new Map<string, Pod>();
  const resyncEvery = opts.resyncIntervalMs ?? 30_000;
  const probes = new ProbeManager({
    runtime,
    onChange: (uid) => loop.enqueue(uid),
    onUnhealthy: (uid, id, kind, message) => {
      const pod = byUid.get(uid);
      if (pod) events.event(pod, "Warning", "Unhealthy", `${kind === "liveness" ? "Liveness" : "Startup"} probe failed: ${message}`);
      const grace = pod?.spec?.terminationGracePeriodSeconds ?? 30;
      runtime.stopContainer(id, grace).catch(() => {}).finally(() => loop.enqueue(uid));
    },
  });
  const events = new EventRecorder(client, "kubelet", opts.nodeName);
  const sync = new PodSync(
    {
      nodeName: opts.nodeName,
      clusterId: opts.clusterId,
      dataDir: opts.dataDir,
      network,
      pauseImage,
      clusterDns: opts.clusterDns,
      clusterDomain: opts.clusterDomain,
      apiServerHost: opts.apiServerHost,
      apiServerPort: opts.apiServerPort,
      caCertPem: opts.caCertPem,
      nodeCpuMillis: availableParallelism() * 1000,
      nodeMemoryBytes: totalmem(),
      hostIP: () => {
        if (!hostIP) void readNodeIP();
        return hostIP;
      },
      serviceAccountToken: opts.serviceAccountToken ?? (async () => ""),
      volumeRefreshMs: Math.floor(resyncEvery * 0.8),
      containerLogs: opts.containerLogs,
      admitPod: opts.admitPod,
    },
    { client, runtime, runtimeName: version.name, probes, puller: new ImagePuller(runtime), events, log, enqueue: (uid) => loop.enqueue(uid) },
  );
  const loop = new ControlLoop({ name: "kubelet", reconcile: (uid) => sync.sync(uid, byUid.get(uid)) }, opts.workers ?? 4);

  const informer = new Informer<Pod>(client.resource<Pod>(podsDef), { fieldSelector: `spec.nodeName=${opts.nodeName}` }).on({
    add: (pod) => {
      byUid.set(pod.metadata.uid!, pod);
      loop.enqueue(pod.metadata.uid!);
    },
    update: (old, pod) => {
      if (old.metadata.uid !== pod.metadata.uid) byUid.delete(old.metadata.uid!), loop.enqueue(old.metadata.uid!);
      byUid.set(pod.metadata.uid!, pod);
      loop.enqueue(pod.metadata.uid!);
    },
    delete: (pod) => {
      byUid.delete(pod.metadata.uid!);
      loop.enqueue(pod.metadata.uid!);
    },
  });
  await informer.start();
  loop.start();

  // Relist: exits, vanished containers and orphans (pods that are gone) get their pod re-synced.
  // Only this node's containers of this cluster: the engine may run other nodes and clusters.
  const seen = new Map<string, string>();
  let stopped = false;
  const relist = async () => {
    const containers = await runtime.listContainers({ [LABELS.managed]: undefined });
    const now = new Map<string, string>();
    const states = new Map<string, number>();
    let sandboxes = 0;
    for (const c of containers) {
      const whose = ownership(c.labels, opts);
      if (whose === "theirs") continue;
      const uid = c.labels[LABELS.podUid]!;
      if (whose === "stray") {
        // Made by bramble but for no pod (e.g. an interrupted create): nobody will ever want it.
        if (c.labels[LABELS.kind]) await runtime.removeContainer(c.id);
        continue;
      }
      if (c.labels[LABELS.kind] === "pause") {
        if (c.state === "running") sandboxes++;
      } else states.set(c.state, (states.get(c.state) ?? 0) + 1);
      now.set(c.id, `${uid}|${c.state}`);
      if (seen.get(c.id) !== now.get(c.id) || !byUid.has(uid)) loop.enqueue(uid);
    }
    runtimeCounts(states, sandboxes);
    for (const [id, v] of seen) if (!now.has(id)) loop.enqueue(v.split("|")[0]);
    seen.clear();
    for (const [k, v] of now) seen.set(k, v);
  };
  const relistEvery = opts.relistIntervalMs ?? 1000;
  let resyncAt = Date.now();
  const relistLoop = (async () => {
    while (!stopped) {
      try {
        await relist();
        // A periodic full resync keeps level-triggered guarantees (configMap updates, missed events).
        if (Date.now() - resyncAt >= resyncEvery) {
          resyncAt = Date.now();
          for (const uid of byUid.keys()) loop.enqueue(uid);
        }
      } catch (e) {
        log.warn("runtime relist failed", { error: String(e) });
      }
      await Bun.sleep(relistEvery);
    }
  })();

  // Image GC events go on the Node, as upstream's (its nodeRef uses the node name as UID).
  const nodeRef = { apiVersion: "v1", kind: "Node", metadata: { name: opts.nodeName, uid: opts.nodeName } };
  const imageGc = new ImageGarbageCollector(opts.imageGc ?? { highThresholdPercent: 100, lowThresholdPercent: 0, minimumAgeMs: 0 }, {
    runtime,
    pauseImage,
    event: (type, reason, message) => events.event(nodeRef, type, reason, message),
    log: log.child("image-gc"),
  });
  if (opts.imageGc) imageGc.start();

  log.info("kubelet started", { node: opts.nodeName, runtime: `${version.name} ${version.version}`, pauseImage, network, imageGc: opts.imageGc });
  return {
    reclaimDisk: (target) =>
      reclaimDisk(runtime, target, {
        records: imageGc.records,
        readImageFs: imageGc.readImageFs,
        pauseImage,
        minimumAgeMs: (opts.imageGc ?? DEFAULT_IMAGE_GC_POLICY).minimumAgeMs,
        owns: (labels) => ownership(labels, opts) === "ours",
        // Gone from the API, or Succeeded/Failed: none of its containers will run again.
        podIsTerminal: (uid) => {
          const phase = byUid.get(uid)?.status?.phase;
          return phase === undefined ? !byUid.has(uid) : phase === "Succeeded" || phase === "Failed";
        },
        log: log.child("reclaim"),
      }),
    activePods: () => [...byUid.values()].filter((p) => !isTerminal(p) && !p.metadata.deletionTimestamp),
    podContainers: async (uid) => (await runtime.listContainers({ [LABELS.podUid]: uid })).filter((c) => ownership(c.labels, opts) === "ours"),
    async evict(pod, message, eventAnnotations) {
      const uid = pod.metadata.uid!;
      sync.markEvicted(uid, message, eventAnnotations);
      loop.enqueue(uid);
      const deadline = Date.now() + EVICTION_CLEANUP_TIMEOUT_MS;
      while (!stopped && Date.now() < deadline) {
        const now = byUid.get(uid);
        if (!now || isTerminal(now)) return true;
        await Bun.sleep(200);
      }
      return false;
    },
    async stop() {
      await imageGc.stop();
      stopped = true;
      informer.stop();
      probes.stopAll();
      await relistLoop;
      await loop.stop();
      await sync.drain();
    },
  };
}
