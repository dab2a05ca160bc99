// Long-running lab processes (dockerd, bramble server/agents): started detached in a session of
// their own, output appended to a log file, pid written to a pid file. Teardown finds them again
// from the pid files alone — also after the process that started them died — and ends each
// session's members by pid, checking that a pid still belongs to the lab (its command line names
// the lab root) so a recycled pid is never hit.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";

export interface ProcInfo {
  pid: number;
  ppid: number;
  sid: number;
  cmdline: string;
}

export function processTable(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid pgrp session ..."; comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      out.push({ pid: Number(entry), ppid: Number(fields[1]), sid: Number(fields[3]), cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Running, that is: present and not a zombie (an exited child nobody has reaped yet). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

export interface DetachedOptions {
  logFile: string;
  pidFile: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/** Starts argv in a new session (setsid), stdout and stderr appended to logFile; returns its pid. */
export function spawnDetached(argv: string[], opts: DetachedOptions): number {
  const fd = openSync(opts.logFile, "a");
  try {
    writeFileSync(fd, `--- ${new Date().toISOString()} ${argv.join(" ")}\n`);
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ["ignore", fd, fd], env: opts.env as NodeJS.ProcessEnv, cwd: opts.cwd });
    child.unref();
    if (child.pid === undefined) throw new Error(`lab: could not start ${argv[0]}`);
    writeFileSync(opts.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/**
 * The processes a pid file stands for: the recorded process and the members of the session it
 * leads (dockerd's containerd, containerd's shims, whatever bramble ran). While the leader runs
 * and its command line names `marker` (the lab root), the session is ours and all of it goes;
 * once the leader is gone, only members whose own command line names the marker (the pid may
 * since have been reused by someone else's session).
 */
export function labProcessesOf(pidFile: string, marker: string): number[] {
  const pid = readPid(pidFile);
  if (pid === undefined) return [];
  const table = processTable();
  const leader = table.find((p) => p.pid === pid);
  const ours = leader !== undefined && leader.cmdline.includes(marker) && alive(pid);
  return table.filter((p) => (p.pid === pid || p.sid === pid) && (ours || p.cmdline.includes(marker))).map((p) => p.pid);
}

/** SIGTERM, then SIGKILL whatever is left after graceMs (0: SIGKILL at once). Resolves once they are all gone. */
export async function endProcesses(pids: number[], graceMs: number): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  if (graceMs > 0) signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(alive)) await Bun.sleep(100);
  if (!pids.some(alive)) return;
  signal("SIGKILL");
  const hard = Date.now() + 5_000;
  while (Date.now() < hard && pids.some(alive)) await Bun.sleep(50);
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return `(no ${file})`;
  const text = readFileSync(file, "utf8").trimEnd().split("\n");
  return text.slice(-lines).join("\n");
}
