// Snapshots of the embedded libSQL store: take one while a server writes, check a file is one,
// and put one in place of the store (server stopped).
//
// Taking: `VACUUM INTO` on a connection of its own. In WAL mode that is a read transaction: it
// copies the database as of its start (a consistent point: every committed transaction before it,
// none after), while the server's writer keeps appending to the WAL; checkpoints only wait to move
// the pages the copy still reads. The server's own connection is never used, so its writes do not
// queue behind the copy. The copy is compact (no free pages) and is written to "<file>.partial",
// fsynced, then renamed, so a snapshot under its final name is always whole.
//
// Writes deferred in the server's memory (Lease renewals, see deferred.ts) are not in a snapshot:
// they are heartbeats, renewed within seconds of a start.
//
// Restoring: the snapshot is copied next to the store, checked (SQLite header, integrity, bramble's
// tables, a schema this binary knows), and renamed into place; the previous store files are kept
// as "<db>.pre-restore-<unix time>". The restored store starts above every revision the previous one
// handed out, with everything before that marked compacted (etcd's restore --bump-revision
// --mark-compacted): clients resuming a watch from a revision of the replaced history get 410 Gone
// and relist, instead of missing changes or seeing a revision twice.
import { createClient, type Client } from "@libsql/client";
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, fsyncSync, openSync, readSync, writeSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { migrations } from "../../../../migrations/index.ts";
import { BUSY_TIMEOUT_MS } from "./connection.ts";
import { RESERVED_REVISION } from "./schema.ts";

/** A file that cannot be used as a snapshot, or a snapshot that cannot be taken; the message is one line. */
export class SnapshotError extends Error {}

const SQLITE_HEADER = "SQLite format 3\0";

export interface SnapshotInfo {
  /** The newest revision in the snapshot (the store's revision when it was taken). */
  revision: number;
  /** Live keys (objects) in it. */
  keys: number;
  bytes: number;
}

function open(path: string): Client {
  return createClient({ url: `file:${path}`, concurrency: 1, timeout: BUSY_TIMEOUT_MS });
}

function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Copies the store at dbPath (which a running server may be writing) into file, consistently.
 * Refuses an existing file. The snapshot is owner-only (0600): it holds every Secret.
 */
export async function takeSnapshot(dbPath: string, file: string): Promise<SnapshotInfo> {
  if (!existsSync(dbPath)) throw new SnapshotError(`no datastore at ${dbPath}`);
  if (existsSync(file)) throw new SnapshotError(`${file} already exists`);
  const partial = `${file}.partial`;
  rmSync(partial, { force: true });
  // VACUUM INTO takes an empty file and keeps its mode.
  try {
    writeFileSync(partial, "", { mode: 0o600, flag: "wx" });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SnapshotError(`cannot write ${file}: ${code === "ENOENT" ? "no such directory" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
  const source = open(dbPath);
  try {
    await source.execute({ sql: "VACUUM INTO ?", args: [partial] });
  } catch (e) {
    rmSync(partial, { force: true });
    throw new SnapshotError(`snapshot of ${dbPath} failed: ${(e as Error).message}`);
  } finally {
    source.close();
  }
  try {
    const info = await inspectSnapshot(partial);
    fsyncPath(partial);
    renameSync(partial, file);
    fsyncPath(dirname(file));
    return info;
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  }
}

/** The SQLite header of file (its first 100 bytes); refuses a missing file and one that is not SQLite. */
function readHeader(file: string, name: string): Buffer {
  const head = Buffer.alloc(100);
  try {
    const fd = openSync(file, "r");
    try {
      readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SnapshotError(`${name}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory" : (e as Error).message}`);
  }
  if (head.subarray(0, SQLITE_HEADER.length).toString("latin1") !== SQLITE_HEADER) throw new SnapshotError(`${name} is not a bramble snapshot (not an SQLite database)`);
  return head;
}

/**
 * Checks that file is a bramble snapshot this binary can restore, and says what is in it (errors
 * name it `name`). It is opened with SQLite and only read; a database in WAL mode would get -wal
 * and -shm files beside it, so restore inspects its own copy of a file it is given.
 */
export async function inspectSnapshot(file: string, name = file): Promise<SnapshotInfo> {
  readHeader(file, name);
  const bytes = statSync(file).size;
  const db = open(file);
  try {
    const check = await db.execute("PRAGMA quick_check").catch((e: Error) => ({ rows: [{ quick_check: e.message }] }));
    const verdict = String(check.rows[0]?.quick_check ?? "no answer");
    if (verdict !== "ok") throw new SnapshotError(`${name} is damaged (SQLite integrity check: ${verdict.split("\n")[0]})`);
    const tables = new Set((await db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")).rows.map((r) => String(r.name)));
    if (!tables.has("kv") || !tables.has("meta") || !tables.has("__drizzle_migrations")) {
      throw new SnapshotError(`${name} is not a bramble snapshot (an SQLite database without bramble's tables)`);
    }
    const last = await db.execute("SELECT max(created_at) AS last FROM __drizzle_migrations");
    const lastApplied = Number(last.rows[0]?.last ?? -1);
    const newest = migrations.reduce((m, x) => Math.max(m, x.when), -1);
    if (lastApplied > newest) {
      throw new SnapshotError(`${name} comes from a newer bramble (its schema is newer than this binary's); restore it with that version`);
    }
    const revision = Number((await db.execute("SELECT coalesce(max(revision), 0) AS r FROM kv")).rows[0]?.r ?? 0);
    const keys = Number(
      (await db.execute("SELECT count(*) AS n FROM kv WHERE revision IN (SELECT max(revision) FROM kv GROUP BY key) AND deleted = 0")).rows[0]?.n ?? 0,
    );
    return { revision, keys, bytes };
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError(`${name} is not a bramble snapshot (${(e as Error).message.split("\n")[0]})`);
  } finally {
    db.close();
  }
}

/** The newest revision the store at dbPath handed out (committed or reserved for deferred writes); 0 when unreadable. */
async function lastRevisionOf(dbPath: string): Promise<number> {
  if (!existsSync(dbPath)) return 0;
  const db = open(dbPath);
  try {
    const r = await db.execute("SELECT coalesce(max(revision), 0) AS r FROM kv");
    const m = await db.execute({ sql: "SELECT coalesce(max(value), 0) AS v FROM meta WHERE name = ?", args: [RESERVED_REVISION] });
    return Math.max(Number(r.rows[0]?.r ?? 0), Number(m.rows[0]?.v ?? 0));
  } catch {
    return 0; // a damaged store: nothing to stay above that anyone can resume from
  } finally {
    db.close();
  }
}

export interface RestoreResult extends SnapshotInfo {
  /** Where the previous store files went ("<db>.pre-restore-<unix time>"), if there was one. */
  previous?: string;
  /** The revision the restored store continues after. */
  startRevision: number;
}

/**
 * Replaces the store at dbPath with the snapshot in file. The server must be stopped (the caller
 * checks). Nothing is changed unless the snapshot passes every check.
 */
export async function restoreSnapshot(dbPath: string, file: string, now = new Date()): Promise<RestoreResult> {
  readHeader(file, file); // one clear line before anything is copied
  const staged = `${dbPath}.restoring`;
  mkdirSync(dirname(dbPath), { recursive: true, mode: 0o700 }); // restoring into a new data dir
  rmSync(staged, { force: true });
  writeFileSync(staged, "", { mode: 0o600 });
  try {
    copyFileSync(file, staged);
    chmodSync(staged, 0o600); // the copy may take the source's mode
    // A copy of a store file in WAL mode (without its -wal: the checkpointed state) is read as a
    // rollback-journal database, so opening it makes no -wal/-shm beside the staged file.
    const head = readHeader(staged, file);
    if (head[18] === 2 || head[19] === 2) {
      const fd = openSync(staged, "r+");
      try {
        writeSync(fd, Buffer.from([1, 1]), 0, 2, 18);
      } finally {
        closeSync(fd);
      }
    }
    const info = await inspectSnapshot(staged, file); // the copy, as it will be used
    const previousLast = await lastRevisionOf(dbPath);
    const startRevision = Math.max(info.revision, previousLast);
    const db = open(staged);
    try {
      // Start above everything the previous store handed out; resumes from before that get 410.
      // (The store starts at max(revision, reserved_revision) and treats the reservation as compacted.)
      if (startRevision > info.revision) {
        await db.execute({
          sql: "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)",
          args: [RESERVED_REVISION, startRevision],
        });
      }
    } finally {
      db.close();
    }
    fsyncPath(staged);
    let previous: string | undefined;
    if (existsSync(dbPath)) {
      previous = `${dbPath}.pre-restore-${Math.floor(now.getTime() / 1000)}`;
      for (const suffix of ["-wal", "-shm"]) if (existsSync(dbPath + suffix)) renameSync(dbPath + suffix, previous + suffix);
      renameSync(dbPath, previous);
    }
    renameSync(staged, dbPath);
    fsyncPath(dirname(dbPath));
    return { ...info, previous, startRevision };
  } catch (e) {
    rmSync(staged, { force: true });
    throw e;
  }
}
