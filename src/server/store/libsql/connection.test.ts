import { afterEach, expect, test } from "bun:test";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@libsql/client";
import { BUSY_TIMEOUT_MS, JOURNAL_SIZE_LIMIT, WAL_AUTOCHECKPOINT_PAGES, openConnection } from "./connection.ts";
import { openLibsqlStore } from "./open.ts";

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

const pragma = async (client: Client, name: string) => Number(Object.values((await client.execute(`PRAGMA ${name}`)).rows[0]!)[0]);

async function expectConfigured(client: Client) {
  expect(await pragma(client, "busy_timeout")).toBe(BUSY_TIMEOUT_MS);
  expect(await pragma(client, "synchronous")).toBe(2); // FULL
  expect(await pragma(client, "wal_autocheckpoint")).toBe(WAL_AUTOCHECKPOINT_PAGES);
  expect(await pragma(client, "journal_size_limit")).toBe(JOURNAL_SIZE_LIMIT);
  expect(await pragma(client, "secure_delete")).toBe(2); // FAST
  expect((await client.execute("PRAGMA journal_mode")).rows[0]![0]).toBe("wal");
}

test("a replaced connection (reconnect) gets the same PRAGMAs as the first one", async () => {
  dir = await mkdtemp(join(tmpdir(), "bramble-conn-"));
  const client = await openConnection(join(dir, "state.db"), { synchronous: "full" });
  try {
    await expectConfigured(client);
    // The pool closes its connection and opens a new one, which starts from SQLite's defaults.
    client.reconnect();
    await expectConfigured(client);
  } finally {
    client.close();
  }
});

test("after a failed operation the next one runs on a configured connection", async () => {
  dir = await mkdtemp(join(tmpdir(), "bramble-conn-"));
  const client = await openConnection(join(dir, "state.db"), { synchronous: "full" });
  try {
    // Stand in for a connection the pool swapped after the failure: settings off their values.
    await client.execute("PRAGMA busy_timeout = 0");
    await client.execute("PRAGMA journal_size_limit = -1");
    await expect(client.batch(["CREATE TABLE t (x)", "INSERT INTO nope VALUES (1)"], "write")).rejects.toThrow();
    await expectConfigured(client);
  } finally {
    client.close();
  }
});

test("state.db, -wal and -shm are 0600, also files an older start left 0644", async () => {
  dir = await mkdtemp(join(tmpdir(), "bramble-conn-"));
  const path = join(dir, "nested", "state.db");
  const mode = async (p: string) => (await stat(p)).mode & 0o777;
  let store = await openLibsqlStore(path, { compactIntervalMs: 0, checkpointIntervalMs: 0 });
  await store.create("/k", "v"); // the WAL and the shared-memory file exist once something is written
  for (const file of [path, `${path}-wal`, `${path}-shm`]) expect(await mode(file)).toBe(0o600);
  expect(await mode(join(dir, "nested"))).toBe(0o700);
  await store.close();
  const { chmodSync } = await import("node:fs");
  chmodSync(path, 0o644);
  store = await openLibsqlStore(path, { compactIntervalMs: 0, checkpointIntervalMs: 0 });
  await store.create("/k2", "v");
  for (const file of [path, `${path}-wal`, `${path}-shm`]) expect(await mode(file)).toBe(0o600);
  await store.close();
});
