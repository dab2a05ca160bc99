// Opens (creating if needed) a libSQL file store: connection, pragmas, migrations, and the
// in-memory revision index rebuilt from the newest row of every key.
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { createClient, type Client } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { LibsqlStore } from "./libsql-store.ts";
import type { MaintenanceOptions } from "./maintenance.ts";
import { applyMigrations } from "./migrate.ts";
import * as q from "./queries.ts";
import { RevisionIndex } from "./revision-index.ts";

export interface LibsqlStoreOptions extends Partial<MaintenanceOptions> {
  /**
   * "full" (default): every group commit fsyncs the WAL, so acknowledged writes survive power
   * loss too; the group commit spreads that one fsync over every write in the group.
   * "normal": WAL commits are not fsynced (only checkpoints are); acknowledged writes still
   * survive kill -9 of the process, since the WAL is written before the commit returns, but a
   * power cut can lose the last ones.
   */
  synchronous?: "full" | "normal";
}

export async function openLibsqlStore(path: string, opts: LibsqlStoreOptions = {}): Promise<LibsqlStore> {
  await mkdir(dirname(path), { recursive: true });
  // One connection: every statement and transaction goes through it, so per-connection pragmas
  // hold everywhere and this process never contends with itself for SQLite's write lock.
  const client = createClient({ url: `file:${path}`, concurrency: 1 });
  try {
    await configure(client, opts.synchronous ?? "full");
    await applyMigrations(client);
    const db: q.Db = drizzle(client);
    const index = new RevisionIndex();
    for (const { key, createRevision, modRevision } of await q.readLiveRevisions(db)) {
      index.load(key, { createRevision, modRevision });
    }
    const state = {
      index,
      revision: await q.readStoreRevision(db),
      compactedRevision: await q.readCompactedRevision(db),
      reservedRevision: await q.readReservedRevision(db),
    };
    return new LibsqlStore(client, db, state, {
      retainRevisions: opts.retainRevisions ?? 1000,
      compactIntervalMs: opts.compactIntervalMs ?? 30_000,
      compactMinRows: opts.compactMinRows ?? 100,
      checkpointIntervalMs: opts.checkpointIntervalMs ?? 10_000,
      // 15 min: each flush is a commit (~100 KB of WAL and checkpoint pages on disk), so this sets
      // an idle cluster's write rate; a crash only loses heartbeats, which are renewed in seconds.
      deferredFlushIntervalMs: opts.deferredFlushIntervalMs ?? 900_000,
    });
  } catch (err) {
    client.close();
    throw err;
  }
}

async function configure(client: Client, synchronous: "full" | "normal"): Promise<void> {
  // WAL: readers never block the writer, and a commit is one sequential append.
  await client.execute("PRAGMA journal_mode = WAL");
  await client.execute(`PRAGMA synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"}`);
  // Another process (an operator's sqlite3 shell, a backup) may hold a lock briefly: wait, don't fail.
  await client.execute("PRAGMA busy_timeout = 5000");
  // SQLite's PASSIVE auto-checkpoint every 1000 pages (~4 MB) keeps each checkpoint short; the
  // size limit makes SQLite shrink the WAL file back after one instead of keeping its peak size.
  await client.execute("PRAGMA wal_autocheckpoint = 1000");
  await client.execute(`PRAGMA journal_size_limit = ${4 * 1024 * 1024}`);
}
