// Background upkeep that keeps the database and its WAL bounded without stalling writers:
// compaction in small revision ranges, WAL checkpoints, and the periodic flush of deferred
// writes (heartbeats), each as one short job on the single writer. Nothing runs when nothing changed, so an idle cluster writes nothing (SD cards).
import type { Client } from "@libsql/client";
import type { GroupCommitter } from "./group-commit.ts";

export interface MaintenanceOptions {
  /** How many revisions of history to keep for watch resume (default 1000, like kine). */
  retainRevisions: number;
  /** How often to compact history older than retainRevisions; 0 disables (default 30 s). */
  compactIntervalMs: number;
  /** How often to check whether the WAL is due a checkpoint and truncation (see CHECKPOINT_MIN_COMMITS); 0 disables (default 10 s). */
  checkpointIntervalMs: number;
  /**
   * Compaction is a write of its own (deleted rows, the recorded progress): on an idle cluster,
   * every 30 s it would cost about one transaction per row written. So it waits until this many
   * rows are compactable, or an hour passed (default 100; under load they are there at once).
   */
  compactMinRows: number;
  /**
   * How often deferred writes (Lease renewals) are written to disk; 0: only on flush() and close()
   * (default 15 min). They ride along with the first durable write after the interval, or go on
   * their own a quarter interval later, so a crash loses at most 1.5 intervals of renewals.
   */
  deferredFlushIntervalMs: number;
}

/**
 * The timed checkpoint waits for this many commits, or CHECKPOINT_MAX_DELAY_MS. Each checkpoint
 * copies every page the WAL changed into the database file: on an idle cluster (a node status
 * every few minutes) one per commit would double what reaches the disk, while one per 10
 * minutes writes the few pages those commits share once. After a burst, 100 commits are there
 * at once and the WAL is emptied at the next tick as before.
 */
const CHECKPOINT_MIN_COMMITS = 100;
const CHECKPOINT_MAX_DELAY_MS = 10 * 60_000;

/** Compaction waits at most this long for compactMinRows (see MaintenanceOptions). */
const COMPACT_MAX_DELAY_MS = 60 * 60_000;

export interface CompactionTarget {
  /** The newest committed revision. */
  committedRevision(): number;
  /** The revision history is (being) compacted to. */
  compactedRevision(): number;
  compact(revision: number): Promise<void>;
  /** Rows on disk that compacting up to revision would look at (a read). */
  rowsToCompact(revision: number): Promise<number>;
  /** Writes the deferred writes held in memory if no durable write took them along in time. */
  flushOverdue(): Promise<void>;
}

export class Maintenance {
  readonly #timers: Array<ReturnType<typeof setInterval>> = [];
  #compacting = false;
  /** When compaction last ran (0: not since start, so the first one does not wait). */
  #lastCompactionAt = 0;
  /** Commits (compactions and flushes count one each) since the last checkpoint. */
  #uncheckpointed = 0;
  #lastCheckpointAt = Date.now();

  constructor(
    private readonly client: Client,
    private readonly writer: GroupCommitter,
    private readonly store: CompactionTarget,
    private readonly opts: MaintenanceOptions,
  ) {}

  start(): void {
    if (this.opts.compactIntervalMs > 0) {
      this.#every(this.opts.compactIntervalMs, () => this.compactOldHistory());
    }
    if (this.opts.deferredFlushIntervalMs > 0) {
      this.#every(this.opts.deferredFlushIntervalMs / 4, () => this.store.flushOverdue());
    }
    if (this.opts.checkpointIntervalMs > 0) {
      this.#every(this.opts.checkpointIntervalMs, () => this.#checkpointIfDue());
    }
  }

  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
  }

  /** Something wrote to the database outside the group commit: checkpoint next time. */
  noteWrite(): void {
    this.#uncheckpointed++;
  }

  async compactOldHistory(): Promise<void> {
    const target = this.store.committedRevision() - this.opts.retainRevisions;
    if (this.#compacting || target <= this.store.compactedRevision()) return;
    this.#compacting = true;
    try {
      const overdue = Date.now() - this.#lastCompactionAt >= COMPACT_MAX_DELAY_MS;
      if (!overdue && (await this.store.rowsToCompact(target)) < this.opts.compactMinRows) return;
      this.#lastCompactionAt = Date.now();
      await this.store.compact(target);
    } finally {
      this.#compacting = false;
    }
  }

  /**
   * TRUNCATE resets the WAL file to zero bytes once its frames are in the database. SQLite's
   * own PASSIVE auto-checkpoint (every 1000 pages, on commit) keeps the WAL small under load;
   * this one returns the space when writing stops, and costs nothing when nothing was written.
   */
  async checkpointIfWritten(): Promise<void> {
    this.#uncheckpointed += this.writer.takeCommitCount();
    if (this.#uncheckpointed === 0) return;
    this.#uncheckpointed = 0;
    this.#lastCheckpointAt = Date.now();
    await this.writer.exclusive(async () => {
      await this.client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
    });
  }

  /** The timer's checkpoint: only once enough commits piled up, or they waited long enough. */
  async #checkpointIfDue(): Promise<void> {
    this.#uncheckpointed += this.writer.takeCommitCount();
    if (this.#uncheckpointed < CHECKPOINT_MIN_COMMITS && Date.now() - this.#lastCheckpointAt < CHECKPOINT_MAX_DELAY_MS) return;
    await this.checkpointIfWritten();
  }

  #every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => {
      task().catch((err) => console.error("store: background maintenance failed", err));
    }, ms);
    // Maintenance must never keep a process alive on its own.
    timer.unref?.();
    this.#timers.push(timer);
  }
}
