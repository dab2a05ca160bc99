import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "bun:test";
import { storeContract } from "../contract.ts";
import { openStore } from "../index.ts";

storeContract("libsql", () => {
  let dir: string | undefined;
  return {
    persistent: true,
    async open() {
      dir ??= await mkdtemp(join(tmpdir(), "bramble-store-"));
      // Background maintenance off: the contract drives compaction itself.
      return openStore(`file:${join(dir, "nested", "state.db")}`, { compactIntervalMs: 0, checkpointIntervalMs: 0 });
    },
    async cleanup() {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
});

test("compaction stops below a held deferred write, and removes what its row supersedes once flushed", async () => {
  const { mkdtemp, rm } = await import("node:fs/promises");
  const { createClient } = await import("@libsql/client");
  const { openLibsqlStore } = await import("./open.ts");
  const dir = await mkdtemp(join(tmpdir(), "bramble-store-"));
  const path = join(dir, "state.db");
  const store = await openLibsqlStore(path, { compactIntervalMs: 0, checkpointIntervalMs: 0, deferredFlushIntervalMs: 0 });
  const db = createClient({ url: `file:${path}` });
  const rows = async (key: string) => Number((await db.execute({ sql: "SELECT count(*) AS n FROM kv WHERE key = ?", args: [key] })).rows[0]!.n);
  try {
    const a = await store.create("/k/a", "0");
    const a1 = await store.update("/k/a", "1", a.modRevision, { durable: false });
    let b = await store.create("/k/b", "0");
    for (let i = 1; i <= 20; i++) b = await store.update("/k/b", String(i), b.modRevision);
    await store.compact(b.modRevision);
    expect(await store.compactedRevision()).toBe(a1.modRevision - 1);
    expect(await rows("/k/b")).toBe(21); // b's rows after the held write's revision are not compacted yet
    await store.flush();
    expect(await rows("/k/a")).toBe(2);
    await store.compact(b.modRevision);
    expect(await store.compactedRevision()).toBe(b.modRevision);
    expect(await rows("/k/a")).toBe(1); // the create, superseded by the flushed row
    expect(await rows("/k/b")).toBe(1);
    expect(await store.get("/k/a")).toEqual(a1);
  } finally {
    db.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("held deferred writes ride along with the first durable write after the flush interval, or go alone when overdue", async () => {
  const { mkdtemp, rm } = await import("node:fs/promises");
  const { createClient } = await import("@libsql/client");
  const { openLibsqlStore } = await import("./open.ts");
  const { until } = await import("../contract.ts");
  const dir = await mkdtemp(join(tmpdir(), "bramble-store-"));
  const path = join(dir, "state.db");
  const store = await openLibsqlStore(path, { compactIntervalMs: 0, checkpointIntervalMs: 0, deferredFlushIntervalMs: 200 });
  const db = createClient({ url: `file:${path}` });
  const rows = async (key: string) => Number((await db.execute({ sql: "SELECT count(*) AS n FROM kv WHERE key = ?", args: [key] })).rows[0]!.n);
  try {
    let lease = await store.create("/k/lease", "0");
    lease = await store.update("/k/lease", "1", lease.modRevision, { durable: false });
    await store.create("/k/early", "x"); // before the interval: the renewal stays held
    expect(await rows("/k/lease")).toBe(1);
    await Bun.sleep(210);
    await store.create("/k/late", "x"); // after it: the renewal goes in the same transaction
    expect(await rows("/k/lease")).toBe(2);
    lease = await store.update("/k/lease", "2", lease.modRevision, { durable: false });
    // No durable write comes: the maintenance timer flushes it on its own (1.25 intervals).
    let n = 0;
    await until(() => {
      void rows("/k/lease").then((r) => (n = r));
      return n === 3;
    }, "overdue flush");
    expect(await store.get("/k/lease")).toEqual(lease);
  } finally {
    db.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("rewriteValues with scrubFreeSpace leaves no trace of values deleted and compacted before it", async () => {
  const { mkdtemp, rm } = await import("node:fs/promises");
  const { existsSync, readFileSync } = await import("node:fs");
  const { openLibsqlStore } = await import("./open.ts");
  const dir = await mkdtemp(join(tmpdir(), "bramble-store-"));
  const path = join(dir, "state.db");
  const raw = () => Buffer.concat([readFileSync(path), existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`) : Buffer.alloc(0)]);
  const marker = `gone-${crypto.randomUUID()}`;
  const store = await openLibsqlStore(path, { compactIntervalMs: 0, checkpointIntervalMs: 0 });
  try {
    // Larger than a page, so it spans overflow pages that go to the free list when it is compacted.
    for (const name of ["a", "b", "c"]) await store.create(`/s/${name}`, `${"x".repeat(20_000)}${marker}${"y".repeat(20_000)}`);
    await store.create("/s/kept", "kept");
    for (const name of ["a", "b", "c"]) await store.delete(`/s/${name}`);
    await store.compact(await store.currentRevision());
    await store.maintenance.checkpointIfWritten();
    expect(raw().includes(marker)).toBe(true); // what SQLite leaves in free pages on its own
    expect(await store.rewriteValues("/s/", () => undefined, { scrubFreeSpace: true })).toBe(0);
    expect(raw().includes(marker)).toBe(false);
    expect((await store.get("/s/kept"))?.value).toBe("kept");
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
