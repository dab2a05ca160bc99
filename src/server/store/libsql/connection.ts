// The store's libSQL client, and the per-connection settings every connection it uses must carry.
//
// PRAGMAs such as busy_timeout, synchronous and journal_size_limit belong to a connection, not to
// the database file. @libsql/client keeps a small pool and opens a fresh connection whenever it
// drops one: after reconnect(), or when an operation leaves its connection unusable (a failed
// rollback, a closed handle). A fresh connection starts from SQLite's defaults (busy_timeout 0:
// "database is locked" at once when a backup or a sqlite3 shell holds a lock). So:
//   - busy_timeout also goes in the client's `timeout` option, which the pool applies natively to
//     every connection it opens;
//   - every other PRAGMA is applied by configureConnection(), before the first operation and
//     again before the next operation after any failed one or a reconnect(): the only moments at
//     which the pool can have swapped its connection.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { createClient, type Client, type InArgs, type InStatement, type ResultSet, type TransactionMode } from "@libsql/client";

export interface ConnectionSettings {
  synchronous: "full" | "normal";
}

/** Another process (an operator's sqlite3 shell, a backup) may hold a lock briefly: wait, don't fail. */
export const BUSY_TIMEOUT_MS = 5000;
/** SQLite's PASSIVE auto-checkpoint every 1000 pages (~4 MB) keeps each checkpoint short. */
export const WAL_AUTOCHECKPOINT_PAGES = 1000;
/** Makes SQLite shrink the WAL file back after a checkpoint instead of keeping its peak size. */
export const JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024;

/** The PRAGMAs every connection gets, in order. */
export function connectionPragmas(settings: ConnectionSettings): string[] {
  return [
    // WAL: readers never block the writer, and a commit is one sequential append.
    "PRAGMA journal_mode = WAL",
    `PRAGMA synchronous = ${settings.synchronous === "full" ? "FULL" : "NORMAL"}`,
    `PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`,
    `PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`,
    `PRAGMA journal_size_limit = ${JOURNAL_SIZE_LIMIT}`,
    // Deleted and overwritten values (compaction, re-encryption) are zeroed in the pages that are
    // written anyway: old Secret values do not linger in free space, at no extra I/O.
    "PRAGMA secure_delete = FAST",
  ];
}

/** The one function that configures a connection (see the file comment for when it runs). */
export async function configureConnection(client: Client, settings: ConnectionSettings): Promise<void> {
  for (const pragma of connectionPragmas(settings)) await client.execute(pragma);
}

/**
 * Opens the store's client on a database file that only its owner can read: the folder is created
 * 0700, and the file is created 0600 before SQLite opens it, because SQLite gives the -wal and
 * -shm files it creates later the database file's mode. Files an older start left with wider modes
 * are narrowed.
 */
export async function openConnection(path: string, settings: ConnectionSettings): Promise<Client> {
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(path)) writeFileSync(path, "", { mode: 0o600, flag: "a" });
  restrictStoreFiles(path);
  // One connection: every statement and transaction goes through it, so this process never
  // contends with itself for SQLite's write lock.
  const inner = createClient({ url: `file:${path}`, concurrency: 1, timeout: BUSY_TIMEOUT_MS });
  const client = new ConfiguredClient(inner, settings);
  try {
    await client.execute("SELECT 1");
  } catch (e) {
    inner.close();
    throw e;
  }
  restrictStoreFiles(path);
  return client;
}

/** state.db, -wal and -shm: owner read/write only. */
export function restrictStoreFiles(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(file, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
}

/** A Client that keeps every connection configured (see the file comment). */
export class ConfiguredClient implements Client {
  #configured: Promise<void> | undefined;

  constructor(
    private readonly inner: Client,
    private readonly settings: ConnectionSettings,
  ) {}

  get closed(): boolean {
    return this.inner.closed;
  }

  get protocol(): string {
    return this.inner.protocol;
  }

  execute(stmt: InStatement): Promise<ResultSet>;
  execute(sql: string, args?: InArgs): Promise<ResultSet>;
  execute(stmtOrSql: InStatement | string, args?: InArgs): Promise<ResultSet> {
    return this.#run(() => (typeof stmtOrSql === "string" ? this.inner.execute(stmtOrSql, args) : this.inner.execute(stmtOrSql)));
  }

  batch(stmts: Array<InStatement | [string, InArgs?]>, mode?: TransactionMode): Promise<ResultSet[]> {
    return this.#run(() => this.inner.batch(stmts, mode));
  }

  migrate(stmts: InStatement[]): Promise<ResultSet[]> {
    return this.#run(() => this.inner.migrate(stmts));
  }

  transaction(mode?: TransactionMode) {
    return this.#run(() => this.inner.transaction(mode));
  }

  executeMultiple(sql: string): Promise<void> {
    return this.#run(() => this.inner.executeMultiple(sql));
  }

  sync() {
    return this.inner.sync();
  }

  reconnect(): void {
    this.#configured = undefined;
    this.inner.reconnect();
  }

  close(): void {
    this.inner.close();
  }

  async #run<T>(op: () => Promise<T>): Promise<T> {
    if (!this.#configured) {
      const configuring = configureConnection(this.inner, this.settings);
      this.#configured = configuring;
      configuring.catch(() => {
        if (this.#configured === configuring) this.#configured = undefined;
      });
    }
    await this.#configured;
    try {
      return await op();
    } catch (e) {
      // The pool may have dropped the connection this ran on; the next one must be configured.
      this.#configured = undefined;
      throw e;
    }
  }
}
