import { afterAll, expect, test } from "bun:test";
import { createClient } from "@libsql/client";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CompactedError } from "../store.ts";
import { openLibsqlStore } from "./open.ts";
import { inspectSnapshot, restoreSnapshot, SnapshotError, takeSnapshot } from "./snapshot.ts";

const tmp = mkdtempSync(join(tmpdir(), "bramble-snapshot-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const dir = () => join(tmp, String(n++));
const quiet = { compactIntervalMs: 0, checkpointIntervalMs: 0 };

test("a snapshot taken while writers run holds exactly the writes up to its revision", async () => {
  const d = dir();
  const store = await openLibsqlStore(join(d, "state.db"), quiet);
  const acked: Array<{ key: string; rev: number }> = [];
  let stop = false;
  const writers = Array.from({ length: 16 }, (_, w) =>
    (async () => {
      for (let i = 0; !stop; i++) {
        const key = `/registry/configmaps/default/w${w}-${i}`;
        const kv = await store.create(key, JSON.stringify({ w, i, pad: "x".repeat(200) }));
        acked.push({ key, rev: kv.modRevision });
      }
    })(),
  );
  while (acked.length < 300) await Bun.sleep(5);
  const file = join(d, "snap");
  const info = await takeSnapshot(join(d, "state.db"), file);
  stop = true;
  await Promise.all(writers);
  await store.close();

  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(existsSync(`${file}.partial`)).toBe(false);
  expect(info.revision).toBeGreaterThanOrEqual(300);
  const snap = await openLibsqlStore(file, quiet);
  try {
    const { items } = await snap.list("/registry/configmaps/");
    const got = new Map(items.map((kv) => [kv.key, kv]));
    const expected = acked.filter((a) => a.rev <= info.revision);
    expect(got.size).toBe(expected.length);
    for (const a of expected) {
      expect(got.get(a.key)?.modRevision).toBe(a.rev);
      expect(JSON.parse(got.get(a.key)!.value).pad.length).toBe(200);
    }
    expect(await snap.currentRevision()).toBe(info.revision);
  } finally {
    await snap.close();
  }
  await expect(takeSnapshot(join(d, "state.db"), file)).rejects.toThrow(`${file} already exists`);
  await expect(takeSnapshot(join(d, "state.db"), join(d, "nowhere", "snap"))).rejects.toThrow(`cannot write ${join(d, "nowhere", "snap")}: no such directory`);
  await expect(takeSnapshot(join(d, "missing.db"), join(d, "snap2"))).rejects.toThrow(`no datastore at ${join(d, "missing.db")}`);
});

test("files that are not bramble snapshots are refused with one line", async () => {
  const d = dir();
  const store = await openLibsqlStore(join(d, "state.db"), quiet);
  await store.create("/registry/namespaces/a", "{}");
  await store.close();
  const good = join(d, "good");
  expect((await takeSnapshot(join(d, "state.db"), good)).keys).toBe(1);

  const text = join(d, "text");
  writeFileSync(text, "hello\n");
  await expect(inspectSnapshot(text)).rejects.toThrow(`${text} is not a bramble snapshot (not an SQLite database)`);

  const foreign = join(d, "foreign.db");
  const f = createClient({ url: `file:${foreign}` });
  await f.execute("CREATE TABLE t (x)");
  f.close();
  await expect(inspectSnapshot(foreign)).rejects.toThrow("an SQLite database without bramble's tables");

  const bytes = readFileSync(good);
  const truncated = join(d, "truncated");
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const damaged = join(d, "damaged");
  const flipped = Buffer.from(bytes);
  for (let i = 4096; i < flipped.length; i++) flipped[i] = flipped[i]! ^ 0x5a;
  writeFileSync(damaged, flipped);
  for (const bad of [truncated, damaged]) {
    const err = await inspectSnapshot(bad).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SnapshotError);
    expect((err as Error).message).not.toContain("\n");
    expect((err as Error).message).toStartWith(bad);
  }

  const newer = join(d, "newer");
  writeFileSync(newer, bytes);
  const c = createClient({ url: `file:${newer}` });
  await c.execute("INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('x', 99999999999999)");
  c.close();
  await expect(inspectSnapshot(newer)).rejects.toThrow("comes from a newer bramble");
  await expect(inspectSnapshot(join(d, "missing"))).rejects.toThrow("no such file");

  // Nothing was replaced by a refused restore.
  await expect(restoreSnapshot(join(d, "state.db"), foreign)).rejects.toThrow(SnapshotError);
  expect(existsSync(join(d, "state.db.restoring"))).toBe(false);
  // Into a data dir that has no store yet.
  const fresh = join(d, "new", "server", "state.db");
  expect(await restoreSnapshot(fresh, good)).toMatchObject({ keys: 1, previous: undefined });
  expect(statSync(fresh).mode & 0o777).toBe(0o600);
  const again = await openLibsqlStore(join(d, "state.db"), quiet);
  expect((await again.get("/registry/namespaces/a"))?.value).toBe("{}");
  await again.close();
});

test("restore puts the snapshot in place, keeps the previous store aside, and continues above its revisions", async () => {
  const d = dir();
  const db = join(d, "state.db");
  let store = await openLibsqlStore(db, quiet);
  const a = await store.create("/registry/configmaps/default/a", "a0");
  const snap = join(d, "snap");
  const info = await takeSnapshot(db, snap);
  await store.update(a.key, "a1", a.modRevision);
  await store.delete(a.key);
  for (let i = 0; i < 5; i++) await store.create(`/registry/configmaps/default/b${i}`, "b");
  const before = await store.currentRevision();
  await store.close();

  const r = await restoreSnapshot(db, snap, new Date(1_700_000_000_000));
  expect(r.previous).toBe(`${db}.pre-restore-1700000000`);
  expect(existsSync(r.previous!)).toBe(true);
  expect(r.revision).toBe(info.revision);
  expect(r.startRevision).toBe(before);

  store = await openLibsqlStore(db, quiet);
  try {
    const got = await store.get(a.key);
    expect(got?.value).toBe("a0");
    expect(got?.modRevision).toBe(a.modRevision);
    expect((await store.list("/registry/configmaps/")).items.map((kv) => kv.key)).toEqual([a.key]);
    expect(await store.currentRevision()).toBeGreaterThanOrEqual(before);
    // A watch resuming from the replaced history is told to relist.
    expect(() => store.watch("/registry/", before - 1, () => {})).toThrow(CompactedError);
    const c = await store.create("/registry/configmaps/default/c", "c");
    expect(c.modRevision).toBeGreaterThan(before);
  } finally {
    await store.close();
  }
});

test("a plain copy of a store file in WAL mode restores, and nothing is written beside the file given", async () => {
  const d = dir();
  const { applyMigrations } = await import("./migrate.ts");
  const live = join(d, "live.db");
  mkdirSync(d, { recursive: true });
  const c = createClient({ url: `file:${live}` });
  await c.execute("PRAGMA journal_mode = WAL");
  await applyMigrations(c);
  await c.execute("INSERT INTO kv (revision, key, value, create_revision, prev_revision, deleted) VALUES (1, '/registry/namespaces/a', '{}', 1, 0, 0)");
  await c.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  const copy = join(d, "copy.db");
  writeFileSync(copy, readFileSync(live));
  c.close();
  expect(readFileSync(copy)[18]).toBe(2); // WAL mode in the header
  const r = await restoreSnapshot(join(d, "server", "state.db"), copy);
  expect(r).toMatchObject({ keys: 1, revision: 1 });
  expect(existsSync(`${copy}-wal`) || existsSync(`${copy}-shm`)).toBe(false);
  expect(readdirSync(join(d, "server"))).toEqual(["state.db"]);
  const store = await openLibsqlStore(join(d, "server", "state.db"), quiet);
  expect((await store.get("/registry/namespaces/a"))?.value).toBe("{}");
  await store.close();
});
