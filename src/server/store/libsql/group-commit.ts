// The single serialized writer. Writes validated by the store are queued here in revision
// order and flushed together: everything that arrives while one transaction is committing goes
// into the next one, so N concurrent writers share one commit (and one fsync). A write's
// promise settles only after its transaction committed, so an acknowledged write is on disk.
//
// Maintenance (compaction chunks, checkpoints) runs through the same queue, one small job
// between two write batches: nothing else ever takes SQLite's write lock, so writers never
// see "database is locked" and never wait behind more than one short job.
//
// Deferred writes (deferred.ts) take the same queue, so they are published in revision order
// with the rest, but a batch of them alone runs no SQL at all.
import type { Client, InStatement } from "@libsql/client";
import type { DeferrableWrite, DeferredWrites, Row } from "./deferred.ts";

export interface PendingWrite extends DeferrableWrite {
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

  constructor(
    private readonly client: Client,
    private readonly hooks: GroupCommitHooks,
    private readonly deferred: DeferredWrites,
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
    let wrote = false;
    try {
      // Fills in prev values held in memory; the rows it returns are what goes to disk.
      const plan = this.deferred.plan(batch);
      const inBatch = new Map<number, PendingWrite>();
      for (const w of batch) inBatch.set(w.revision, w);
      const prevToRead: number[] = [];
      for (const w of batch) {
        if (w.prevRevision === 0 || w.prevValue !== undefined) continue;
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
      const statements = [...insertStatements(plan.rows), ...plan.statements];
      // Prev values are read before the transaction: they are the committed rows these writes
      // supersede, and nothing else writes (compaction included) until this flush is done.
      const prevValues = new Map<number, string>();
      for (const select of selects) {
        for (const row of (await this.client.execute(select)).rows) prevValues.set(Number(row.revision), String(row.value));
      }
      // One statement is atomic on its own: autocommit saves the BEGIN/COMMIT round (a lone
      // writer's case). Several go in one IMMEDIATE transaction, which one commit makes durable.
      if (statements.length === 1) await this.client.execute(statements[0]!);
      else if (statements.length > 1) await this.client.batch(statements, "write");
      wrote = statements.length > 0;
      for (const w of batch) {
        if (w.prevRevision !== 0 && w.prevValue === undefined) w.prevValue = prevValues.get(w.prevRevision) ?? "";
      }
      plan.apply();
    } catch (err) {
      const queued = this.#queue;
      this.#queue = [];
      this.hooks.failed(err, [...batch, ...queued]);
      return;
    }
    if (wrote) this.#commits++;
    this.hooks.committed(batch);
  }
}

/** Plain SQL text per row count: the group sizes repeat, so the strings are built once. */
const insertSql = new Map<number, string>();

/** INSERTs for rows, ROWS_PER_INSERT at a time. */
export function insertStatements(rows: readonly Row[]): InStatement[] {
  return chunk(rows, ROWS_PER_INSERT).map((part): InStatement => {
    let sql = insertSql.get(part.length);
    if (!sql) {
      sql = `INSERT INTO kv ${COLUMNS} VALUES ${Array.from({ length: part.length }, () => "(?,?,?,?,?,?)").join(",")}`;
      insertSql.set(part.length, sql);
    }
    return { sql, args: part.flatMap((w) => [w.revision, w.key, w.value, w.createRevision, w.prevRevision, w.deleted ? 1 : 0]) };
  });
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
