// The libSQL backend. Writes are validated against an in-memory revision index, given the next
// revision synchronously (so revision order = queue order = commit order), and committed in
// groups by the single writer; reads go straight to the database, overlaid with the deferred
// writes (heartbeats) that are held in memory until a flush (deferred.ts).
import type { Client } from "@libsql/client";
import {
  CompactedError,
  KeyExistsError,
  KeyNotFoundError,
  RevisionConflictError,
  StorageFullError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type RewriteOptions,
  type Store,
  type ValueRewrite,
  type Watch,
  type WatchEvent,
  type WriteOptions,
} from "../store.ts";
import { WatchHub } from "../watch-hub.ts";
import { DeferredWrites, mergeByRevision } from "./deferred.ts";
import { GroupCommitter, insertStatements, type PendingWrite } from "./group-commit.ts";
import { Maintenance, type MaintenanceOptions } from "./maintenance.ts";
import * as q from "./queries.ts";
import { RevisionIndex } from "./revision-index.ts";

/** Revisions per compaction transaction: each is a few ms, and the writer runs between them. */
const COMPACTION_CHUNK = 250;

/** Rows per rewrite transaction (rewriteValues): short, so writers wait little between them. */
const REWRITE_CHUNK = 200;

/** Tries of an optimistic list before it reads with the writer to itself. */
const LIST_ATTEMPTS = 3;

export interface LibsqlStoreState {
  index: RevisionIndex;
  revision: number;
  compactedRevision: number;
  /** The persisted reservation for deferred writes (0 when none). */
  reservedRevision: number;
}

export class LibsqlStore implements Store {
  readonly #writer: GroupCommitter;
  readonly #hub: WatchHub;
  readonly #maintenance: Maintenance;
  readonly #index: RevisionIndex;
  /** Highest revision handed to a write (committed or not). */
  #assignedRevision: number;
  /** Highest revision committed and published to watchers. */
  #committedRevision: number;
  /** History at or below this is gone or going; watching from below it fails. */
  #compactedRevision: number;
  /** Where compaction has actually got to on disk. */
  #compactedOnDisk: number;
  readonly #deferred: DeferredWrites;
  /** Bumped whenever what the database holds changes (commits, flushes): lets list check its read. */
  #generation = 0;
  #closed = false;

  constructor(
    private readonly client: Client,
    private readonly db: q.Db,
    state: LibsqlStoreState,
    maintenance: MaintenanceOptions,
  ) {
    this.#index = state.index;
    // Above the reservation: no revision a client may have seen before a crash comes back.
    this.#assignedRevision = this.#committedRevision = Math.max(state.revision, state.reservedRevision);
    this.#compactedOnDisk = state.compactedRevision;
    // Deferred writes of the last run that never reached the log leave holes in its history, so
    // watching from before the restart fails (the client relists) instead of replaying past them.
    this.#compactedRevision = Math.max(state.compactedRevision, state.reservedRevision);
    this.#deferred = new DeferredWrites(state.reservedRevision, maintenance.deferredFlushIntervalMs);
    this.#hub = new WatchHub((prefix, after, limit) => this.#readHistory(prefix, after, limit));
    this.#writer = new GroupCommitter(
      client,
      { committed: (batch) => this.#onCommitted(batch), failed: (err, batch) => this.#onFailed(err, batch) },
      this.#deferred,
    );
    this.#maintenance = new Maintenance(client, this.#writer, this.#compactionTarget(), maintenance);
    this.#maintenance.start();
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.#checkOpen();
    return this.#deferred.get(key) ?? q.getLatest(this.db, key);
  }

  /**
   * The database's snapshot with the held deferred values laid over it is consistent only if no
   * commit or flush landed while it was read; that is checked, and after a few unlucky tries the
   * read runs with the writer to itself. (Lists are rare: the watch cache serves clients.)
   */
  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.#checkOpen();
    for (let attempt = 0; attempt < LIST_ATTEMPTS; attempt++) {
      const generation = this.#generation;
      const page = await q.listLatest(this.db, prefix, opts);
      if (generation === this.#generation && page.revision <= this.#committedRevision) return this.#withDeferred(page);
    }
    return this.#writer.exclusive(async () => this.#withDeferred(await q.listLatest(this.db, prefix, opts)));
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.#checkOpen();
    if (this.#index.lookup(key)) throw new KeyExistsError(key);
    const revision = ++this.#assignedRevision;
    const kv: KeyValue = { key, value, createRevision: revision, modRevision: revision };
    this.#index.stage(key, revision, { ...kv });
    await this.#write({ revision, key, value, createRevision: revision, prevRevision: 0, deleted: false });
    return kv;
  }

  async update(key: string, value: string, expectedRevision: number, opts: WriteOptions = {}): Promise<KeyValue> {
    this.#checkOpen();
    const current = this.#index.lookup(key);
    if (!current) throw new KeyNotFoundError(key);
    if (current.modRevision !== expectedRevision) throw await this.#conflict(key, current);
    const revision = ++this.#assignedRevision;
    const kv: KeyValue = { key, value, createRevision: current.createRevision, modRevision: revision };
    this.#index.stage(key, revision, { ...kv });
    await this.#write({
      revision,
      key,
      value,
      createRevision: current.createRevision,
      prevRevision: current.modRevision,
      deleted: false,
      deferred: opts.durable === false,
    });
    return kv;
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    this.#checkOpen();
    const current = this.#index.lookup(key);
    if (!current) throw new KeyNotFoundError(key);
    if (expectedRevision !== undefined && current.modRevision !== expectedRevision) {
      throw await this.#conflict(key, current);
    }
    const revision = ++this.#assignedRevision;
    this.#index.stage(key, revision, undefined);
    const write = await this.#write({
      revision,
      key,
      value: "",
      createRevision: current.createRevision,
      prevRevision: current.modRevision,
      deleted: true,
    });
    return { key, value: write.prevValue ?? "", createRevision: current.createRevision, modRevision: revision };
  }

  watch(prefix: string, fromRevision: number, onEvent: (e: WatchEvent) => void): Watch {
    this.#checkOpen();
    if (fromRevision !== 0 && fromRevision < this.#compactedRevision) {
      throw new CompactedError(fromRevision, this.#compactedRevision);
    }
    return this.#hub.add(prefix, fromRevision, this.#committedRevision, onEvent);
  }

  async currentRevision(): Promise<number> {
    return this.#committedRevision;
  }

  async compactedRevision(): Promise<number> {
    return this.#compactedRevision;
  }

  async compact(revision: number): Promise<void> {
    this.#checkOpen();
    // Never past a held deferred write: once flushed, its row must fall in a later compaction
    // range, or the row it supersedes would never be removed.
    const held = this.#deferred.oldestHeldRevision();
    const target = Math.min(revision, this.#committedRevision, held === undefined ? Infinity : held - 1);
    // Raised before any row goes, so a watch asking for older history fails up front instead
    // of replaying a log with holes in it.
    if (target > this.#compactedRevision) this.#compactedRevision = target;
    while (this.#compactedOnDisk < this.#compactedRevision && !this.#closed) {
      const from = this.#compactedOnDisk;
      const to = Math.min(from + COMPACTION_CHUNK, this.#compactedRevision);
      // A watcher that started before the target was raised may still be reading (from, to].
      await this.#hub.replaysPast(to);
      if (this.#closed) break;
      const wrote = await this.#writer.exclusive(() => q.compactRange(this.db, from, to));
      this.#compactedOnDisk = Math.max(this.#compactedOnDisk, to);
      this.#deferred.dropHistory(this.#compactedOnDisk);
      if (wrote) this.#maintenance.noteWrite();
    }
  }

  /**
   * Held deferred writes go to disk first, so every value of the prefix is a row. Then the log is
   * walked by revision, one short transaction per chunk of rows between write batches; a row is
   * never modified by anything else (writes add rows, compaction removes them), so rewriting it
   * in place cannot race a writer.
   */
  async rewriteValues(prefix: string, rewrite: ValueRewrite, opts: RewriteOptions = {}): Promise<number> {
    this.#checkOpen();
    if (this.#deferred.holdsUnder(prefix)) await this.#flushDeferred();
    let after = 0;
    let rewritten = 0;
    for (;;) {
      this.#checkOpen();
      const page = await this.#writer.exclusive(async () => {
        const rows = await q.readValues(this.db, prefix, after, REWRITE_CHUNK);
        const updates = [];
        for (const row of rows) {
          const value = rewrite(row.key, row.value);
          if (value !== undefined && value !== row.value) updates.push({ sql: "UPDATE kv SET value = ? WHERE revision = ?", args: [value, row.revision] });
        }
        if (updates.length > 0) await this.client.batch(updates, "write");
        return { rows: rows.length, last: rows.at(-1)?.revision ?? after, updated: updates.length };
      });
      rewritten += page.updated;
      if (page.updated > 0) {
        this.#generation++;
        this.#maintenance.noteWrite();
      }
      if (page.rows < REWRITE_CHUNK) break;
      after = page.last;
    }
    if (opts.scrubFreeSpace) {
      // VACUUM rebuilds the file without its free pages (where deleted values may linger); the
      // truncating checkpoint then leaves no old page images in the WAL either.
      await this.#writer.exclusive(async () => {
        await this.client.execute("VACUUM");
        await this.client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
      });
    } else if (rewritten > 0) {
      await this.#maintenance.checkpointIfWritten();
    }
    return rewritten;
  }

  /** Writes every held deferred value, in one transaction. */
  async flush(): Promise<void> {
    this.#checkOpen();
    await this.#flushDeferred();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#maintenance.stop();
    await this.#writer.idle();
    await this.#flushDeferred(this.#committedRevision).catch((err) => console.error("store: flushing deferred writes on close failed", err));
    this.#hub.stopAll();
    // Leave an empty WAL behind: the next start (or a backup copying only the .db) needs nothing more.
    await this.#maintenance.checkpointIfWritten().catch((err) => console.error("store: final checkpoint failed", err));
    this.client.close();
  }

  /** Background maintenance, exposed for tests and benchmarks. */
  get maintenance(): Maintenance {
    return this.#maintenance;
  }

  async #flushDeferred(closingAt?: number): Promise<void> {
    await this.#writer.exclusive(async () => {
      const plan = this.#deferred.planFlush(closingAt);
      const statements = [...insertStatements(plan.rows), ...plan.statements];
      if (statements.length === 0) return;
      await this.client.batch(statements, "write");
      plan.apply();
      this.#generation++;
      this.#maintenance.noteWrite();
    });
  }

  #withDeferred(page: ListResult): ListResult {
    const items = this.#deferred.size === 0 ? page.items : page.items.map((kv) => this.#deferred.get(kv.key) ?? kv);
    return { items, revision: this.#committedRevision };
  }

  /**
   * Retained history: the log on disk, and the deferred events held in memory (which win: their
   * prev is exact). Only events up to the revision published when the read starts are taken from
   * memory; anything later reaches the watcher live, and taking it here could skip a durable event
   * that committed between the two reads.
   */
  async #readHistory(prefix: string, after: number, limit: number): Promise<WatchEvent[]> {
    const upTo = this.#committedRevision;
    const disk = await q.readHistory(this.db, prefix, after, limit);
    const held = this.#deferred.history(prefix, after, upTo, limit);
    return held.length === 0 ? disk : mergeByRevision(held, disk, limit);
  }

  #write(row: Omit<PendingWrite, "resolve" | "reject">): Promise<PendingWrite> {
    return new Promise((resolve, reject) => {
      const write: PendingWrite = { ...row, resolve: () => resolve(write), reject };
      this.#writer.enqueue(write);
    });
  }

  #onCommitted(batch: PendingWrite[]): void {
    const events: WatchEvent[] = [];
    for (const w of batch) {
      const prev: KeyValue | undefined =
        w.prevRevision === 0
          ? undefined
          : { key: w.key, value: w.prevValue ?? "", createRevision: w.createRevision, modRevision: w.prevRevision };
      if (w.deleted) {
        this.#index.commit(w.key, w.revision, undefined);
        const last = { key: w.key, value: prev?.value ?? "", createRevision: w.createRevision, modRevision: w.revision };
        events.push({ type: "delete", kv: last, prev, revision: w.revision });
      } else {
        const kv = { key: w.key, value: w.value, createRevision: w.createRevision, modRevision: w.revision };
        this.#index.commit(w.key, w.revision, kv);
        const event: WatchEvent = prev ? { type: "update", kv, prev, revision: w.revision } : { type: "create", kv, revision: w.revision };
        if (w.deferred) this.#deferred.record(event);
        events.push(event);
      }
    }
    this.#committedRevision = batch[batch.length - 1]!.revision;
    this.#generation++;
    this.#hub.publish(events);
    for (const w of batch) w.resolve();
  }

  /**
   * Every queued write was validated against the failed ones, so all of them fail, and the
   * index and revision counter go back to the last committed state.
   */
  #onFailed(err: unknown, batch: PendingWrite[]): void {
    this.#index.rollback();
    this.#assignedRevision = this.#committedRevision;
    // SQLite rolls the transaction back on a full disk, leaving the database as it was.
    const full = diskFull(err);
    const reason = full ? new StorageFullError(full) : err;
    for (const w of batch) w.reject(reason);
  }

  async #conflict(key: string, current: { createRevision: number; modRevision: number; value?: string }) {
    const value = current.value ?? this.#deferred.get(key)?.value ?? (await q.getValueAt(this.db, current.modRevision)) ?? "";
    return new RevisionConflictError(key, {
      key,
      value,
      createRevision: current.createRevision,
      modRevision: current.modRevision,
    });
  }

  #compactionTarget() {
    return {
      committedRevision: () => this.#committedRevision,
      compactedRevision: () => this.#compactedRevision,
      compact: (revision: number) => this.compact(revision),
      flushOverdue: () => (this.#deferred.overdue() ? this.#flushDeferred() : Promise.resolve()),
      rowsToCompact: (revision: number) => q.countRows(this.db, this.#compactedOnDisk, revision),
    };
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error("store is closed");
  }
}

/** SQLite's message when a write found the disk (or a size limit) full; undefined for other errors. */
function diskFull(err: unknown): string | undefined {
  const e = err as { code?: unknown; extendedCode?: unknown; message?: unknown } | undefined;
  if (e?.code === "SQLITE_FULL" || e?.extendedCode === "SQLITE_FULL" || (e?.extendedCode === "SQLITE_IOERR_WRITE" && /no space/i.test(String(e?.message)))) {
    return String(e.message ?? "database or disk is full").replace(/^SQLITE_\w+: /, "");
  }
  return undefined;
}
