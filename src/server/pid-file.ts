// <data-dir>/server/server.pid: written when a server has opened its store, removed when it
// stops. `bramble restore` reads it to refuse replacing the store under a running server. A file
// left by a killed server names a process that no longer exists (or is no bramble server), which
// counts as not running.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const pidFile = (dataDir: string) => join(dataDir, "server", "server.pid");

export function writePidFile(dataDir: string): void {
  writeFileSync(pidFile(dataDir), `${process.pid}\n`, { mode: 0o600 });
}

/** Removes the file if it is this process's. */
export function removePidFile(dataDir: string): void {
  if (readPid(dataDir) === process.pid) rmSync(pidFile(dataDir), { force: true });
}

function readPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile(dataDir), "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The pid of a server running on this data dir, if one is. */
export function runningServerPid(dataDir: string): number | undefined {
  const pid = readPid(dataDir);
  if (pid === undefined || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but is someone else's; still a live process.
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return undefined;
  }
  // A recycled pid: only a bramble server counts (its command line names the server subcommand).
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (!args.includes("server")) return undefined;
  } catch {
    // no /proc: trust the pid
  }
  return pid;
}
