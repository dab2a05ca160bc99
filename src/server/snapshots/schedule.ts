// Scheduled snapshots (k3s's --etcd-snapshot-schedule-cron and --etcd-snapshot-retention): at
// every run of the cron schedule, a snapshot into <data-dir>/server/snapshots/, then the oldest
// beyond the retention are removed. The schedule's grammar and calendar are the CronJob's.
//
// The snapshot is taken on a connection of its own (store/libsql/snapshot.ts), so the server's
// writes are not queued behind it. libSQL runs a statement on the calling thread, so the copy is
// made by a `bramble backup` process when the caller says how to start one (`command`): copying
// 10,000 objects in-process holds the server's thread for ~0.2 s on x86 (more on a Pi), in which
// no request is served. Without a command (tests), the copy runs in-process.
import { statSync } from "node:fs";
import { join } from "node:path";
import { compileSchedule, loadCalendar } from "../controllers/cronjob/schedule";
import type { Logger } from "../../machinery/log";
import { takeSnapshot } from "../store/libsql/snapshot";
import { ensureSnapshotDir, rotateSnapshots, snapshotName } from "./files";

export const DEFAULT_SNAPSHOT_SCHEDULE = "0 */12 * * *";
export const DEFAULT_SNAPSHOT_RETENTION = 5;

export interface SnapshotScheduleOptions {
  dataDir: string;
  /** The store file to copy. */
  dbPath: string;
  /** Goes into the file names. */
  node: string;
  cron: string;
  retention: number;
  log: Logger;
  /** argv that runs the bramble binary (e.g. [execPath] or [bun, main.ts]); absent: copy in-process. */
  command?: string[];
}

/** Longest single timer: a far run is waited for in steps (timers overflow past ~24 days). */
const MAX_WAIT_MS = 60 * 60_000;

/** Checks a schedule (throws the parser's message for one that does not parse). */
export async function checkSnapshotSchedule(cron: string): Promise<void> {
  await loadCalendar();
  compileSchedule(cron);
}

/** One snapshot plus rotation, as each scheduled run does; returns the file written. */
export async function snapshotNow(o: Omit<SnapshotScheduleOptions, "cron">, at = new Date()): Promise<string> {
  const dir = ensureSnapshotDir(o.dataDir);
  const file = join(dir, snapshotName(o.node, at));
  const started = performance.now();
  if (o.command) {
    const p = Bun.spawn([...o.command, "backup", file, "--datastore-endpoint", `file:${o.dbPath}`], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error((err.trim() || out.trim() || `bramble backup exited with ${code}`).replace(/^bramble: /, ""));
    o.log.info("saved snapshot", { file, bytes: statSync(file).size, ms: Math.round(performance.now() - started) });
  } else {
    const info = await takeSnapshot(o.dbPath, file);
    o.log.info("saved snapshot", { file, revision: info.revision, objects: info.keys, bytes: info.bytes, ms: Math.round(performance.now() - started) });
  }
  const removed = rotateSnapshots(dir, o.retention);
  if (removed.length) o.log.info("removed snapshots beyond the retention", { retention: o.retention, removed });
  return file;
}

export async function startSnapshotSchedule(o: SnapshotScheduleOptions): Promise<{ stop(): void }> {
  await loadCalendar();
  const schedule = compileSchedule(o.cron);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const arm = (due: number | null) => {
    if (stopped || due === null) return;
    timer = setTimeout(() => {
      if (Date.now() < due) return arm(due);
      snapshotNow(o, new Date(due))
        .catch((e: unknown) => o.log.error("scheduled snapshot failed", { err: e }))
        .finally(() => arm(schedule.next(Date.now())));
    }, Math.min(Math.max(0, due - Date.now()), MAX_WAIT_MS));
    timer.unref?.();
  };
  arm(schedule.next(Date.now()));
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
