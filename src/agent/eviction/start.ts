// The eviction manager on a real node: measurements from the kernel (signals.ts through
// host-reader.ts), the data dir as nodefs and Docker's data root as imagefs, pods and evictions
// through the kubelet. With no thresholds at all (--eviction-hard "" and no soft ones) nothing
// is measured: the node reports no pressure and evicts nothing, as upstream's kubelet.
import { createLogger, type Logger } from "../../machinery/log";
import type { Kubelet } from "../kubelet/kubelet";
import { podDir } from "../kubelet/volumes";
import type { Pod } from "../../api/resources/core/pod";
import type { NodeHealth, PressureCondition } from "../node/conditions";
import { admitPod } from "./admit";
import { dockerRootDir, writableLayersByPod } from "./docker-root";
import { LABELS } from "../runtime/runtime";
import { hostReader } from "./host-reader";
import { EvictionManager, type ReclaimDisk } from "./manager";
import { observe, sharesFilesystem, type SignalPaths } from "./signals";
import { parseEvictionConfig, type EvictionConfig } from "./thresholds";
import { podUsage } from "./usage";

export interface EvictionSetup {
  config?: EvictionConfig;
  dataDir: string;
  dockerSocket: string;
  kubelet(): Kubelet | undefined;
  reclaim?: ReclaimDisk;
  conditionsChanged(): void;
  intervalMs?: number;
  log?: Logger;
}

export interface RunningEviction {
  health(): NodeHealth;
  /** Whether a new pod may start under the pressure reported now. */
  admit(pod: Pod): { reason: string; message: string } | undefined;
  stop(): Promise<void>;
}

export async function startEvictionManager(setup: EvictionSetup): Promise<RunningEviction> {
  const config = setup.config ?? parseEvictionConfig({});
  if (!config.thresholds.length) return { health: () => ({}), admit: () => undefined, stop: async () => {} };
  const log = setup.log ?? createLogger("eviction");
  const paths: SignalPaths = { nodefs: setup.dataDir, imagefs: await dockerRootDir(setup.dockerSocket) };
  let shared = sharesFilesystem(hostReader, paths);
  const manager = new EvictionManager(config, {
    async observe() {
      // The engine may have been unreachable at start; its data root is learnt once it answers.
      if (!paths.imagefs && (paths.imagefs = await dockerRootDir(setup.dockerSocket))) shared = sharesFilesystem(hostReader, paths);
      return observe(hostReader, paths);
    },
    imagesOnNodefs: () => shared,
    activePods: () => setup.kubelet()?.activePods() ?? [],
    usage: (pods, resource, signal) => {
      const kubelet = setup.kubelet();
      // Disk use counts where it lives: volumes on nodefs, writable layers on imagefs (both when they are one).
      const onImages = signal.startsWith("imagefs.") || (signal.startsWith("nodefs.") && shared);
      const onVolumes = signal.startsWith("nodefs.") || shared;
      return podUsage(
        {
          reader: hostReader,
          containers: (uid) => kubelet?.podContainers(uid) ?? Promise.resolve([]),
          podDir: (uid) => podDir(setup.dataDir, uid),
          countVolumes: onVolumes,
          writableLayers: onImages ? () => writableLayersByPod(setup.dockerSocket, LABELS.podUid) : undefined,
        },
        pods,
        resource,
      );
    },
    reclaim: setup.reclaim,
    evict: (pod, notice) => setup.kubelet()?.evict(pod, notice.message, notice.annotations) ?? Promise.resolve(false),
    conditionsChanged: setup.conditionsChanged,
    log,
  });
  log.info("watching for node pressure", { thresholds: config.thresholds.map((t) => `${t.signal}<${t.text}`), nodefs: paths.nodefs, imagefs: paths.imagefs });
  manager.start(setup.intervalMs);
  return {
    health: () => manager.health(),
    admit: (pod) => admitPod(pod, Object.keys(manager.health()) as PressureCondition[]),
    stop: () => manager.stop(),
  };
}
