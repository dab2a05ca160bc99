// What each pod uses, read only when the node is under pressure: the working set and task count
// of its containers from their cgroups (Docker's cgroupfs or systemd layout, v1 or v2), and
// the bytes its local volumes take on the node (a walk of the pod's directory in the data dir,
// as upstream's kubelet measures emptyDir volumes with du).
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Pod } from "../../api/resources/core/pod";
import { LABELS, type ContainerInfo } from "../runtime/runtime";
import type { ContainerUsage, PodUsage, Resource } from "./rank";
import { parseFlatKeyed, type HostReader } from "./signals";

const CGROUP = "/sys/fs/cgroup";

/** Where a Docker container's cgroup may be, per controller ("memory", "pids"). */
export function cgroupDirs(id: string, controller: string): string[] {
  return [
    `${CGROUP}/${controller}/docker/${id}`, // v1, cgroupfs driver
    `${CGROUP}/${controller}/system.slice/docker-${id}.scope`, // v1, systemd driver
    `${CGROUP}/system.slice/docker-${id}.scope`, // v2, systemd driver
    `${CGROUP}/docker/${id}`, // v2, cgroupfs driver
  ];
}

/** Working set (usage − inactive file) of one container; undefined when its cgroup is not found. */
export function containerWorkingSet(r: HostReader, id: string): number | undefined {
  for (const dir of cgroupDirs(id, "memory")) {
    const v1 = r.readFile(`${dir}/memory.usage_in_bytes`);
    const v2 = v1 === undefined ? r.readFile(`${dir}/memory.current`) : undefined;
    const usage = Number((v1 ?? v2)?.trim());
    if (!Number.isFinite(usage) || (v1 ?? v2) === undefined) continue;
    const stat = parseFlatKeyed(r.readFile(`${dir}/memory.stat`) ?? "");
    const inactive = (v1 !== undefined ? stat.get("total_inactive_file") : stat.get("inactive_file")) ?? 0;
    return Math.max(0, usage - inactive);
  }
  return undefined;
}

export function containerTasks(r: HostReader, id: string): number | undefined {
  for (const dir of cgroupDirs(id, "pids")) {
    const n = Number(r.readFile(`${dir}/pids.current`)?.trim());
    if (Number.isFinite(n) && n >= 0 && r.readFile(`${dir}/pids.current`) !== undefined) return n;
  }
  return undefined;
}

/** Bytes allocated under a directory (st_blocks, like du), not following links or other mounts' roots. */
export function diskUsage(dir: string): number {
  let total = 0;
  const walk = (path: string) => {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return;
    }
    total += Number(st.blocks) * 512;
    if (!st.isDirectory()) return;
    let names: string[];
    try {
      names = readdirSync(path);
    } catch {
      return;
    }
    for (const n of names) walk(join(path, n));
  };
  walk(dir);
  return total;
}

export interface UsageSources {
  reader: HostReader;
  /** The pod's running containers (not the pause container: it holds no workload). */
  containers(podUid: string): Promise<ContainerInfo[]>;
  /** The pod's directory on the node (volumes, generated files). */
  podDir(podUid: string): string;
  /** False when the starved filesystem is not the data dir's (the pods' volumes are elsewhere). */
  countVolumes?: boolean;
  /** When the starved filesystem holds images: each pod's writable layers there, by pod uid. */
  writableLayers?(): Promise<Map<string, number>>;
}

export async function podUsage(src: UsageSources, pods: Pod[], resource: Resource): Promise<PodUsage[]> {
  const layers = resource === "ephemeral-storage" && src.writableLayers ? await src.writableLayers() : undefined;
  return Promise.all(
    pods.map(async (pod) => {
      const uid = pod.metadata.uid!;
      const out: PodUsage = { pod };
      if (resource === "ephemeral-storage") {
        out.disk = (src.countVolumes === false ? 0 : diskUsage(src.podDir(uid))) + (layers?.get(uid) ?? 0);
        return out;
      }
      const running = (await src.containers(uid)).filter((c) => c.state === "running" && c.labels[LABELS.kind] !== "pause");
      if (resource === "memory") {
        const containers: ContainerUsage[] = running.map((c) => ({ name: c.labels[LABELS.container] ?? c.name, memory: containerWorkingSet(src.reader, c.id) }));
        out.containers = containers;
        out.memory = containers.reduce((s, c) => s + (c.memory ?? 0), 0);
      } else {
        out.pids = running.reduce((s, c) => s + (containerTasks(src.reader, c.id) ?? 0), 0);
      }
      return out;
    }),
  );
}
