// What the eviction manager watches, measured the way upstream's kubelet measures it (through
// cAdvisor there, straight from the kernel here), all cheap enough to run every few seconds:
// a few small files and two statfs calls.
//   memory.available = capacity − working set, where capacity is MemTotal and the working set is
//     the root cgroup's usage minus its inactive file pages (cgroup v1 memory.usage_in_bytes and
//     total_inactive_file; cgroup v2 MemTotal − MemFree, as runc counts the root, minus the root
//     memory.stat's inactive_file; /proc/meminfo alone when neither is readable).
//   nodefs = the filesystem holding the agent's data dir (pods' volumes); imagefs = the one
//     holding Docker's data root (images, writable layers, logs): available bytes (f_bavail, as
//     df) and free inodes.
//   pid.available = the kernel's pid limit (pid_max, or a lower root pids.max) − tasks running.
import type { Signal } from "./thresholds";

export interface Observation {
  available: number;
  capacity: number;
}

export type Observations = Partial<Record<Signal, Observation>>;

export interface FsStats {
  /** Blocks available to unprivileged users, block size, total blocks, free inodes, total inodes. */
  bavail: number;
  bsize: number;
  blocks: number;
  ffree: number;
  files: number;
}

/** How the readings reach the kernel; tests give fakes. */
export interface HostReader {
  /** The file's text, or undefined when it does not exist or cannot be read. */
  readFile(path: string): string | undefined;
  statfs(path: string): FsStats | undefined;
  /** st_dev of a path, to tell whether two paths share a filesystem. */
  device(path: string): number | undefined;
}

export interface SignalPaths {
  nodefs: string;
  /** Docker's data root; undefined while unknown (then no imagefs signals). */
  imagefs?: string;
}

const CGROUP = "/sys/fs/cgroup";

/** "Key:   123 kB" lines of /proc/meminfo, in bytes. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([^:]+):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]) * (line.includes("kB") ? 1024 : 1));
  }
  return out;
}

/** "key value" lines (memory.stat). */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [k, v] = line.split(" ");
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** memory.available for the whole machine; undefined when /proc/meminfo is unreadable. */
export function observeMemory(r: HostReader): Observation | undefined {
  const meminfoText = r.readFile("/proc/meminfo");
  if (!meminfoText) return undefined;
  const meminfo = parseMeminfo(meminfoText);
  const capacity = meminfo.get("MemTotal");
  if (!capacity) return undefined;
  let workingSet: number | undefined;
  const v1Usage = r.readFile(`${CGROUP}/memory/memory.usage_in_bytes`);
  const v1Stat = r.readFile(`${CGROUP}/memory/memory.stat`);
  const v2Stat = r.readFile(`${CGROUP}/memory.stat`);
  if (v1Usage !== undefined && v1Stat !== undefined) {
    const inactive = parseFlatKeyed(v1Stat).get("total_inactive_file") ?? 0;
    workingSet = Number(v1Usage.trim()) - inactive;
  } else if (v2Stat !== undefined) {
    const inactive = parseFlatKeyed(v2Stat).get("inactive_file") ?? 0;
    workingSet = capacity - (meminfo.get("MemFree") ?? 0) - inactive;
  } else {
    workingSet = capacity - (meminfo.get("MemFree") ?? 0) - (meminfo.get("Inactive(file)") ?? 0);
  }
  if (!Number.isFinite(workingSet)) return undefined;
  workingSet = Math.max(0, workingSet);
  return { available: Math.max(0, capacity - workingSet), capacity };
}

function observeFs(r: HostReader, path: string): { bytes: Observation; inodes: Observation } | undefined {
  const s = r.statfs(path);
  if (!s) return undefined;
  return {
    bytes: { available: s.bavail * s.bsize, capacity: s.blocks * s.bsize },
    inodes: { available: s.ffree, capacity: s.files },
  };
}

/** pid.available; undefined without /proc. */
export function observePids(r: HostReader): Observation | undefined {
  const pidMax = Number(r.readFile("/proc/sys/kernel/pid_max")?.trim());
  if (!pidMax) return undefined;
  // The root pids controller's limit, when one is set and lower (a node inside a container).
  const rootMax = Number((r.readFile(`${CGROUP}/pids.max`) ?? r.readFile(`${CGROUP}/pids/pids.max`))?.trim());
  const capacity = rootMax > 0 ? Math.min(pidMax, rootMax) : pidMax;
  // /proc/loadavg's fourth field is "running/total" scheduling entities: what upstream's
  // sysinfo().procs counts.
  const total = Number(/\d+\/(\d+)/.exec(r.readFile("/proc/loadavg") ?? "")?.[1]);
  if (!Number.isFinite(total)) return undefined;
  return { available: Math.max(0, capacity - total), capacity };
}

/** Every signal that can be measured now. A node without an image filesystem apart shares nodefs's numbers. */
export function observe(r: HostReader, paths: SignalPaths): Observations {
  const out: Observations = {};
  const memory = observeMemory(r);
  if (memory) out["memory.available"] = memory;
  const node = observeFs(r, paths.nodefs);
  if (node) {
    out["nodefs.available"] = node.bytes;
    out["nodefs.inodesFree"] = node.inodes;
  }
  const image = paths.imagefs ? observeFs(r, paths.imagefs) : undefined;
  if (image) {
    out["imagefs.available"] = image.bytes;
    out["imagefs.inodesFree"] = image.inodes;
  }
  const pids = observePids(r);
  if (pids) out["pid.available"] = pids;
  return out;
}

/** Whether images live on the data dir's filesystem (then reclaiming images helps nodefs too). */
export function sharesFilesystem(r: HostReader, paths: SignalPaths): boolean {
  if (!paths.imagefs) return false;
  const a = r.device(paths.nodefs);
  return a !== undefined && a === r.device(paths.imagefs);
}
