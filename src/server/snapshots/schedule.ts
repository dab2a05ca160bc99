// Scheduled snapshots (k3s's --etcd-snapshot-schedule-cron and --etcd-snapshot-retention): at
// every run of the cron schedule, a snapshot into <data-dir>/server/snapshots/, then the oldest
// beyond the retention are removed. The schedule's grammar is the CronJob's. Its runs in local
// time are found here by walking the calendar (a few thousand steps at most), so a server does not
// load the CronJob controller's calendar library and its time zone data (~8 MB of RSS) for this;
// only a schedule with a TZ= prefix uses that library.
//
// The snapshot is taken on a connection of its own (store/libsql/snapshot.ts), so the server's
// writes are not queued behind it. libSQL runs a statement on the calling thread, so the copy is
// made by a `bramble backup` process when the caller says how to start one (`command`): copying
// 10,000 objects in-process holds the server's thread for ~0.2 s on x86 (more on a Pi), in which
// no request is served. Without a command (tests), the copy runs in-process.
import { statSync } from "node:fs";
import { join } from "node:path";
import { parseSchedule, type CronFields } from "../../api/resources/batch/cron";
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
  await snapshotSchedule(cron);
}

/** How far ahead a run is looked for: a schedule with none within it (30 February) never runs. */
const SEARCH_DAYS = 5 * 366;

/** The first run of a five-field schedule strictly after t, in local time; null if none. */
export function nextLocalRun(f: CronFields, t: number): number | null {
  const from = new Date(t);
  const day = new Date(from.getFullYear(), from.getMonth(), from.getDate());
  for (let i = 0; i <= SEARCH_DAYS; i++, day.setDate(day.getDate() + 1)) {
    if (!f.month.values.includes(day.getMonth() + 1)) continue;
    const dom = f.dayOfMonth.values.includes(day.getDate());
    const dow = f.dayOfWeek.values.includes(day.getDay());
    // As cron: with both day fields restricted, either may match; otherwise both must.
    if (!(f.dayOfMonth.star || f.dayOfWeek.star ? dom && dow : dom || dow)) continue;
    for (const h of f.hour.values) {
      for (const m of f.minute.values) {
        const run = new Date(day.getFullYear(), day.getMonth(), day.getDate(), h, m);
        // A time a daylight-saving change skips does not exist that day.
        if (run.getTime() > t && run.getHours() === h && run.getMinutes() === m) return run.getTime();
      }
    }
  }
  return null;
}

/** next(t) of a schedule: the first run strictly after t, or null. */
export async function snapshotSchedule(cron: string): Promise<(t: number) => number | null> {
  const parsed = parseSchedule(cron);
  if (parsed.timeZone !== undefined) {
    const { compileSchedule, loadCalendar } = await import("../controllers/cronjob/schedule");
    await loadCalendar();
    const s = compileSchedule(cron);
    return (t) => s.next(t);
  }
  if (parsed.kind === "every") return (t) => Math.floor(t / 1000) * 1000 + parsed.seconds * 1000;
  const fields = parsed.fields;
  return (t) => nextLocalRun(fields, t);
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

/** stop() ends the schedule and waits for a snapshot in progress to finish (and its rotation). */
export async function startSnapshotSchedule(o: SnapshotScheduleOptions): Promise<{ stop(): Promise<void> }> {
  const next = await snapshotSchedule(o.cron);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const arm = (due: number | null) => {
    if (stopped || due === null) return;
    timer = setTimeout(() => {
      if (Date.now() < due) return arm(due);
      running = snapshotNow(o, new Date(due))
        .then(
          () => {},
          (e: unknown) => o.log.error("scheduled snapshot failed", { err: e }),
        )
        .finally(() => {
          running = undefined;
          arm(next(Date.now()));
        });
    }, Math.min(Math.max(0, due - Date.now()), MAX_WAIT_MS));
    timer.unref?.();
  };
  arm(next(Date.now()));
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
