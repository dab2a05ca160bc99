// Opens (creating if needed) a libSQL file store: connection, pragmas, migrations, and the
// in-memory revision index rebuilt from the newest row of every key.
import { drizzle } from "drizzle-orm/libsql";
import { openConnection, restrictStoreFiles } from "./connection.ts";
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
  const client = await openConnection(path, { synchronous: opts.synchronous ?? "full" });
  try {
    await applyMigrations(client);
    // The first write creates -wal and -shm (with the database file's 0600); a store an older
    // start left with wider modes is narrowed here too.
    restrictStoreFiles(path);
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
