// The node's own CPU and memory, from /proc: what every cgroup layout has. CPU is the time spent
// outside idle and iowait on all CPUs (/proc/stat, in USER_HZ ticks, 100 per second on Linux);
// the working set is MemTotal - MemAvailable, close to what the kubelet reports for its root
// cgroup (usage minus inactive file pages) and the figure its eviction thresholds use.
import { readFileSync } from "node:fs";

/** Linux reports /proc/stat in USER_HZ, fixed at 100 for userspace on every architecture. */
const NANOS_PER_TICK = 10_000_000;

/** Cumulative busy CPU time over all CPUs, in nanoseconds, from /proc/stat's "cpu" line. */
export function parseProcStat(text: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return undefined;
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice).
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = [user, nice, system, irq, softirq, steal].reduce<number>((sum, v) => sum + (Number.isFinite(v) ? v! : 0), 0);
  return busy * NANOS_PER_TICK;
}

export interface NodeMemory {
  totalBytes: number;
  availableBytes: number;
  workingSetBytes: number;
}

export function parseMeminfo(text: string): NodeMemory | undefined {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const totalBytes = kb("MemTotal");
  const availableBytes = kb("MemAvailable");
  if (totalBytes === undefined || availableBytes === undefined) return undefined;
  return { totalBytes, availableBytes, workingSetBytes: Math.max(0, totalBytes - availableBytes) };
}

export interface NodeSample {
  cpuUsageNanos: number;
  memory: NodeMemory;
}

export function readNodeSample(procRoot = "/proc"): NodeSample | undefined {
  try {
    const cpu = parseProcStat(readFileSync(`${procRoot}/stat`, "utf8"));
    const memory = parseMeminfo(readFileSync(`${procRoot}/meminfo`, "utf8"));
    return cpu === undefined || !memory ? undefined : { cpuUsageNanos: cpu, memory };
  } catch {
    return undefined;
  }
}
