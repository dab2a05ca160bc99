import { afterEach, expect, test } from "bun:test";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "../contract.ts";
import { openLibsqlStore } from "./open.ts";

let dir: string;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const fileState = async (path: string) => {
  const s = await stat(path).catch(() => undefined);
  return s ? `${s.size}@${s.mtimeMs}` : "absent";
};

test("maintenance compacts old history, empties the WAL, then writes nothing while idle", async () => {
  dir = await mkdtemp(join(tmpdir(), "bramble-maint-"));
  const path = join(dir, "state.db");
  // Timers off: the test runs each maintenance step itself, so it knows when they are done.
  const store = await openLibsqlStore(path, { retainRevisions: 10, compactIntervalMs: 0, checkpointIntervalMs: 0 });
  let kv = await store.create("/idle/a", "0");
  for (let i = 1; i <= 50; i++) kv = await store.update("/idle/a", String(i), kv.modRevision);

  await store.maintenance.compactOldHistory();
  await store.maintenance.checkpointIfWritten();
  expect(await store.compactedRevision()).toBe(kv.modRevision - 10);
  expect(Bun.file(`${path}-wal`).size).toBe(0);

  // Idle: more maintenance rounds touch neither file.
  const before = [await fileState(path), await fileState(`${path}-wal`)];
  for (let i = 0; i < 5; i++) {
    await store.maintenance.compactOldHistory();
    await store.maintenance.checkpointIfWritten();
  }
  expect([await fileState(path), await fileState(`${path}-wal`)]).toEqual(before);
  expect(await store.get("/idle/a")).toEqual(kv);
  await store.close();
});

test("maintenance timers run on their own", async () => {
  dir = await mkdtemp(join(tmpdir(), "bramble-maint-"));
  const store = await openLibsqlStore(join(dir, "state.db"), { retainRevisions: 5, compactIntervalMs: 5, checkpointIntervalMs: 5, compactMinRows: 1 });
  let kv = await store.create("/t/a", "0");
  for (let i = 1; i <= 20; i++) kv = await store.update("/t/a", String(i), kv.modRevision);
  let compacted = 0;
  await until(() => {
    void store.compactedRevision().then((r) => (compacted = r));
    return compacted === kv.modRevision - 5;
  }, "background compaction");
  await store.close();
});
