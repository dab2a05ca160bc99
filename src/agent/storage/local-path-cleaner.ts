// The node's half of the local-path provisioner's Delete reclaim: a local-path volume of this
// node that the persistent-volume controller marked Released (its claim is gone) with reclaim
// policy Delete has its directory removed here, then the volume itself. Only directories named
// as the provisioner names them (<volume>_<namespace>_<claim>) are removed.
import { rmSync } from "node:fs";
import { basename, isAbsolute, normalize } from "node:path";
import { ApiError } from "../../api/errors";
import { KINDS } from "../../api/kinds";
import type { PersistentVolume } from "../../api/resources/core/persistentvolume";
import { LOCAL_PATH_NODE_ANNOTATION, LOCAL_PATH_PROVISIONER, PROVISIONED_BY_ANNOTATION } from "../../api/storage-annotations";
import type { KubeClient } from "../../client/client";
import { Informer } from "../../client/informer";
import type { Logger } from "../../machinery/log";

const RETRY_MS = 5_000;

/** The directory to remove for this node, or undefined when the volume is not one to clean here. */
export function localPathToClean(pv: PersistentVolume, nodeName: string): string | undefined {
  const ann = pv.metadata.annotations ?? {};
  if (ann[PROVISIONED_BY_ANNOTATION] !== LOCAL_PATH_PROVISIONER || ann[LOCAL_PATH_NODE_ANNOTATION] !== nodeName) return undefined;
  if (pv.status?.phase !== "Released" || pv.spec?.persistentVolumeReclaimPolicy !== "Delete" || pv.metadata.deletionTimestamp) return undefined;
  const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
  if (!path || !isAbsolute(path) || normalize(path) !== path) return undefined;
  return basename(path).startsWith(`${pv.metadata.name}_`) ? path : undefined;
}

export function startLocalPathCleaner(client: KubeClient, nodeName: string, log: Logger): { stop(): void } {
  const volumes = client.resource<PersistentVolume>(KINDS.persistentVolumes);
  const informer = new Informer(volumes);
  const busy = new Set<string>();
  let stopped = false;
  const clean = async (pv: PersistentVolume) => {
    const name = pv.metadata.name!;
    const path = localPathToClean(pv, nodeName);
    if (!path || busy.has(name) || stopped) return;
    busy.add(name);
    try {
      rmSync(path, { recursive: true, force: true });
      await volumes.delete(undefined, name).catch((e) => {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      });
      log.info("removed a released local-path volume", { volume: name, path });
    } catch (e) {
      log.warn("cannot remove a released local-path volume; retrying", { volume: name, error: String(e) });
      setTimeout(() => {
        const current = informer.get(name);
        if (current) void clean(current);
      }, RETRY_MS).unref?.();
    } finally {
      busy.delete(name);
    }
  };
  informer.on({ add: (pv) => void clean(pv), update: (_, pv) => void clean(pv) });
  informer.start().catch((e) => log.warn("cannot watch persistent volumes", { error: String(e) }));
  return {
    stop() {
      stopped = true;
      informer.stop();
    },
  };
}
