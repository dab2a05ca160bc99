// The single serialized writer. Writes validated by the store are queued here in revision
// order and flushed together: everything that arrives while one transaction is committing goes
// into the next one, so N concurrent writers share one commit (and one fsync). A write's
// promise settles only after its transaction committed, so an acknowledged write is on disk.
//
// Maintenance (compaction chunks, checkpoints) runs through the same queue, one small job
// between two write batches: nothing else ever takes SQLite's write lock, so writers never
// see "database is locked" and never wait behind more than one short job.
import type { Client, InStatement } from "@libsql/client";

export interface PendingWrite {
  revision: number;
  key: string;
  /** Stored value; empty for a tombstone. */
  value: string;
  createRevision: number;
  /** The row this write supersedes; 0 for a create. */
  prevRevision: number;
  deleted: boolean;
  /** Filled in by the flush: the value at prevRevision, for the watch event's prev. */
  prevValue?: string;
  resolve(): void;
  reject(err: unknown): void;
}

export interface GroupCommitHooks {
  /** Called after a batch committed, with prevValue filled in, before any promise settles. */
  committed(batch: PendingWrite[]): void;
  /** Called when a batch failed to commit; every write still queued is handed over too. */
  failed(err: unknown, batch: PendingWrite[]): void;
}

const COLUMNS = "(revision, key, value, create_revision, prev_revision, deleted)";
/** Rows per INSERT statement: 6 parameters each stays far below SQLite's variable limit. */
const ROWS_PER_INSERT = 200;
const IDS_PER_SELECT = 500;

export class GroupCommitter {
  #queue: PendingWrite[] = [];
  readonly #jobs: Array<() => Promise<void>> = [];
  #running = false;
  #idleWaiters: Array<() => void> = [];
  /** Commits since the last call to takeCommitCount(), so idle maintenance can skip work. */
  #commits = 0;
  readonly #insertSql = new Map<number, string>();

  constructor(
    private readonly client: Client,
    private readonly hooks: GroupCommitHooks,
  ) {}

  enqueue(write: PendingWrite): void {
    this.#queue.push(write);
    this.#kick();
  }

  /** Runs a maintenance job between write batches, with the writer to itself. */
  exclusive<T>(job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#jobs.push(() => job().then(resolve, reject));
      this.#kick();
    });
  }

  /** Resolves when nothing is queued or committing. */
  idle(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  takeCommitCount(): number {
    const n = this.#commits;
    this.#commits = 0;
    return n;
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#run();
  }

  async #run(): Promise<void> {
    try {
      for (;;) {
        // Yield a macrotask first: writers woken by the previous commit queue their next write
        // in microtasks, and waiting for them makes the next group as large as it can be.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const job = this.#jobs.shift();
        if (job) await job();
        if (this.#queue.length > 0) await this.#flush();
        if (this.#jobs.length === 0 && this.#queue.length === 0) break;
      }
    } finally {
      this.#running = false;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  async #flush(): Promise<void> {
    const batch = this.#queue;
    this.#queue = [];
    try {
      const inBatch = new Map<number, PendingWrite>();
      for (const w of batch) inBatch.set(w.revision, w);
      const prevToRead: number[] = [];
      for (const w of batch) {
        if (w.prevRevision === 0) continue;
        const prevInBatch = inBatch.get(w.prevRevision);
        if (prevInBatch) w.prevValue = prevInBatch.value;
        else prevToRead.push(w.prevRevision);
      }
      const selects = chunk(prevToRead, IDS_PER_SELECT).map(
        (ids): InStatement => ({
          sql: `SELECT revision, value FROM kv WHERE revision IN (${ids.map(() => "?").join(",")})`,
          args: ids,
        }),
      );
      const inserts = chunk(batch, ROWS_PER_INSERT).map(
        (rows): InStatement => ({
          sql: this.#insertStatement(rows.length),
          args: rows.flatMap((w) => [w.revision, w.key, w.value, w.createRevision, w.prevRevision, w.deleted ? 1 : 0]),
        }),
      );
      // Prev values are read before the transaction: they are the committed rows these writes
      // supersede, and nothing else writes (compaction included) until this flush is done.
      const prevValues = new Map<number, string>();
      for (const select of selects) {
        for (const row of (await this.client.execute(select)).rows) prevValues.set(Number(row.revision), String(row.value));
      }
      // One statement is atomic on its own: autocommit saves the BEGIN/COMMIT round (a lone
      // writer's case). Several go in one IMMEDIATE transaction, which one commit makes durable.
      if (inserts.length === 1) await this.client.execute(inserts[0]!);
      else await this.client.batch(inserts, "write");
      for (const w of batch) {
        if (w.prevRevision !== 0 && w.prevValue === undefined) w.prevValue = prevValues.get(w.prevRevision) ?? "";
      }
    } catch (err) {
      const queued = this.#queue;
      this.#queue = [];
      this.hooks.failed(err, [...batch, ...queued]);
      return;
    }
    this.#commits++;
    this.hooks.committed(batch);
  }

  /** Plain SQL text per row count: the group sizes repeat, so the strings are built once. */
  #insertStatement(rows: number): string {
    let sql = this.#insertSql.get(rows);
    if (!sql) {
      sql = `INSERT INTO kv ${COLUMNS} VALUES ${Array.from({ length: rows }, () => "(?,?,?,?,?,?)").join(",")}`;
      this.#insertSql.set(rows, sql);
    }
    return sql;
  }
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
