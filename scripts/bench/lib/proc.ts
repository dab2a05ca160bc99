// What Linux says about a process: memory from /proc/<pid>/status, I/O from /proc/<pid>/io.
import { readFileSync } from "node:fs";

/** VmRSS, VmHWM (peak RSS), RssAnon, RssFile in bytes. */
export function memoryOf(pid: number) {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM"), anon: kb("RssAnon"), file: kb("RssFile") };
}

/**
 * write_bytes: bytes this process caused to be sent to the storage layer (what wears an SD card);
 * wchar: bytes passed to write()-like calls, any fd (files, sockets, log output).
 */
export function ioOf(pid: number) {
  const text = readFileSync(`/proc/${pid}/io`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? NaN);
  return { writeBytes: field("write_bytes"), wchar: field("wchar"), syscw: field("syscw"), cancelledWriteBytes: field("cancelled_write_bytes") };
}

/** Total CPU time (user + system) in ms a process has used so far. */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15 of stat)
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

export function cpuModel(): string {
  const info = readFileSync("/proc/cpuinfo", "utf8");
  return /^model name\s*:\s*(.+)$/m.exec(info)?.[1] ?? "unknown";
}

export const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** Established TCP connections whose local port is `port` (the server's side of each client connection). */
export function establishedConnections(port: number): number {
  let n = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4) continue;
      const localPort = parseInt(f[1]!.split(":")[1]!, 16);
      if (localPort === port && f[3] === "01") n++;
    }
  }
  return n;
}

/** Pins every thread of a process to the given CPUs (taskset -a -p). */
export function pinProcess(pid: number, cpus: string): void {
  const r = Bun.spawnSync({ cmd: ["taskset", "-a", "-cp", cpus, String(pid)], stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`taskset failed: ${r.stderr.toString()}`);
}

/** RSS grouped by what is mapped (/proc/<pid>/smaps): the executable, each shared library, anonymous memory. */
export function rssByMapping(pid: number): { name: string; rss: number }[] {
  const text = readFileSync(`/proc/${pid}/smaps`, "utf8");
  const totals = new Map<string, number>();
  let current = "";
  for (const line of text.split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const path = header[1] ?? "";
      current = path === "" ? "[anonymous]" : path.startsWith("/") ? path.split("/").at(-1)! : path;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) totals.set(current, (totals.get(current) ?? 0) + Number(rss[1]) * 1024);
  }
  return [...totals.entries()].map(([name, rss]) => ({ name, rss })).sort((a, b) => b.rss - a.rss);
}

/** CPU time (ms) all processes on the machine have used since boot, from /proc/stat (not idle, not iowait). */
export function machineBusyMs(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f as number[];
  return ((user! + nice! + system! + irq! + softirq! + steal!) * 1000) / 100;
}

/** The commit the benchmark measures, "+dirty" when src/ has uncommitted changes (others edit this tree). */
export function sourceVersion(): string {
  // A benchmark run from an exported snapshot (git archive) has no .git: the exporter says which commit.
  if (process.env.BENCH_SOURCE_VERSION) return process.env.BENCH_SOURCE_VERSION;
  const run = (args: string[]) => Bun.spawnSync({ cmd: ["git", ...args], cwd: import.meta.dir, stdout: "pipe", stderr: "ignore" }).stdout.toString().trim();
  const head = run(["rev-parse", "--short", "HEAD"]) || "unknown";
  return run(["status", "--porcelain", "--", "../../../src"]) ? `${head}+dirty` : head;
}
