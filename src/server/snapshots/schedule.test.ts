import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createLogger } from "../../machinery/log";
import { openLibsqlStore } from "../store/libsql/open";
import { listSnapshots, snapshotDir } from "./files";
import { checkSnapshotSchedule, snapshotNow, snapshotSchedule, startSnapshotSchedule } from "./schedule";

const tmp = mkdtempSync(join(tmpdir(), "bramble-schedule-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const log = createLogger("test", { level: "error" });
const dbPath = join(tmp, "server", "state.db");
const store = await openLibsqlStore(dbPath, { compactIntervalMs: 0, checkpointIntervalMs: 0 });
await store.create("/registry/namespaces/a", "{}");
afterAll(() => store.close());

test("each run saves a snapshot and keeps the newest `retention`", async () => {
  const o = { dataDir: tmp, dbPath, node: "pi", retention: 2, log };
  for (const t of [1_000, 2_000, 3_000]) await snapshotNow(o, new Date(1_765_000_000_000 + t));
  expect(listSnapshots(snapshotDir(tmp))).toEqual(["bramble-snapshot-pi-1765000002", "bramble-snapshot-pi-1765000003"]);
  // The out-of-process copy: a `bramble backup` process.
  const main = resolve(import.meta.dir, "../../main.ts");
  await snapshotNow({ ...o, command: [process.execPath, main] }, new Date(1_765_000_004_000));
  expect(listSnapshots(snapshotDir(tmp))).toEqual(["bramble-snapshot-pi-1765000003", "bramble-snapshot-pi-1765000004"]);
  rmSync(snapshotDir(tmp), { recursive: true });
});

test("run times of the default schedule, macros, day fields and @every, in local time", async () => {
  const local = (y: number, mo: number, d: number, h = 0, mi = 0) => new Date(y, mo - 1, d, h, mi).getTime();
  const twelveHourly = await snapshotSchedule("0 */12 * * *");
  expect(twelveHourly(local(2026, 12, 8, 1, 30))).toBe(local(2026, 12, 8, 12));
  expect(twelveHourly(local(2026, 12, 8, 12))).toBe(local(2026, 12, 9, 0)); // strictly after
  expect(twelveHourly(local(2026, 12, 31, 23, 59))).toBe(local(2027, 1, 1, 0));
  expect((await snapshotSchedule("@daily"))(local(2026, 2, 28, 5))).toBe(local(2026, 3, 1));
  // Both day fields restricted: either matches (the 13th, or any Friday).
  const either = await snapshotSchedule("30 2 13 * 5");
  expect(either(local(2026, 12, 8))).toBe(local(2026, 12, 11, 2, 30)); // Friday 11 December
  expect(either(local(2026, 12, 11, 3))).toBe(local(2026, 12, 13, 2, 30));
  expect((await snapshotSchedule("0 0 30 2 *"))(local(2026, 1, 1))).toBeNull();
  expect((await snapshotSchedule("@every 90s"))(1_000_500)).toBe(1_090_000);
});

test("the schedule runs on its cron, and a schedule that does not parse is refused", async () => {
  await expect(checkSnapshotSchedule("every tuesday")).rejects.toThrow();
  const s = await startSnapshotSchedule({ dataDir: tmp, dbPath, node: "pi", cron: "@every 1s", retention: 5, log });
  try {
    const deadline = Date.now() + 10_000;
    while (listSnapshots(snapshotDir(tmp)).length === 0 && Date.now() < deadline) await Bun.sleep(50);
    expect(listSnapshots(snapshotDir(tmp)).length).toBeGreaterThan(0);
    expect(readdirSync(snapshotDir(tmp)).filter((n) => n.endsWith(".partial"))).toEqual([]);
  } finally {
    await s.stop();
  }
});
