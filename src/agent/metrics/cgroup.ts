// Reading a container's CPU and memory from its cgroup, the files cadvisor reads for the kubelet:
// cgroup v1 (cpuacct.usage, memory.usage_in_bytes and memory.stat's total_inactive_file) and the
// unified v2 hierarchy (cpu.stat usage_usec, memory.current and memory.stat's inactive_file).
// A container's cgroup is found from its main process's /proc/<pid>/cgroup, so the Docker cgroup
// driver (cgroupfs or systemd) and any --cgroup-parent do not matter.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export type CgroupVersion = 1 | 2;

/** Cumulative CPU time and current memory of one cgroup. */
export interface CgroupSample {
  /** CPU time used since the cgroup was created, in nanoseconds. */
  cpuUsageNanos: number;
  /** All memory charged to the cgroup, page cache included. */
  memoryUsageBytes: number;
  /** Usage minus inactive file pages: what upstream's kubelet reports (and evicts on) as the working set. */
  memoryWorkingSetBytes: number;
}

/** Where the cgroup hierarchies are mounted, and in which layout. */
export interface CgroupFs {
  root: string;
  version: CgroupVersion;
}

export function detectCgroupFs(root = "/sys/fs/cgroup"): CgroupFs {
  return { root, version: existsSync(join(root, "cgroup.controllers")) ? 2 : 1 };
}

/** The paths a process's /proc/<pid>/cgroup gives: per v1 controller, and the v2 one under "". */
export function parseProcCgroup(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    for (const controller of m[1]!.split(",")) paths.set(controller, m[2]!);
  }
  return paths;
}

const readText = (path: string) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/** "key value" lines (memory.stat, cpu.stat) into numbers. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

const workingSet = (usage: number, inactiveFile: number | undefined) => Math.max(0, usage - (inactiveFile ?? 0));

/** v1: the cpuacct and memory controllers' folders of one cgroup. */
export function readCgroupV1(cpuacctDir: string, memoryDir: string): CgroupSample | undefined {
  const cpu = readText(join(cpuacctDir, "cpuacct.usage"));
  const usage = readText(join(memoryDir, "memory.usage_in_bytes"));
  if (cpu === undefined || usage === undefined) return undefined;
  const stat = parseFlatKeyed(readText(join(memoryDir, "memory.stat")) ?? "");
  const memoryUsageBytes = Number(usage.trim());
  return { cpuUsageNanos: Number(cpu.trim()), memoryUsageBytes, memoryWorkingSetBytes: workingSet(memoryUsageBytes, stat.get("total_inactive_file")) };
}

/** v2: one folder carries every controller. */
export function readCgroupV2(dir: string): CgroupSample | undefined {
  const cpu = readText(join(dir, "cpu.stat"));
  const current = readText(join(dir, "memory.current"));
  if (cpu === undefined || current === undefined) return undefined;
  const usec = parseFlatKeyed(cpu).get("usage_usec");
  if (usec === undefined) return undefined;
  const stat = parseFlatKeyed(readText(join(dir, "memory.stat")) ?? "");
  const memoryUsageBytes = Number(current.trim());
  return { cpuUsageNanos: usec * 1000, memoryUsageBytes, memoryWorkingSetBytes: workingSet(memoryUsageBytes, stat.get("inactive_file")) };
}

/** The sample of the cgroup a process (a container's main process) runs in; undefined when it is gone. */
export function readProcessCgroup(fs: CgroupFs, pid: number, procRoot = "/proc"): CgroupSample | undefined {
  const text = readText(join(procRoot, String(pid), "cgroup"));
  if (text === undefined) return undefined;
  const paths = parseProcCgroup(text);
  if (fs.version === 2) {
    const p = paths.get("");
    return p === undefined ? undefined : readCgroupV2(join(fs.root, p));
  }
  const cpuacct = paths.get("cpuacct");
  const memory = paths.get("memory");
  if (cpuacct === undefined || memory === undefined) return undefined;
  // The controller is mounted alone (cpuacct) or co-mounted (cpu,cpuacct, with a cpuacct link).
  return readCgroupV1(join(fs.root, "cpuacct", cpuacct), join(fs.root, "memory", memory));
}
