// Deferred (non-durable) writes: node heartbeats renew a Lease every 10 s, and a disk write each
// would wear an SD card out for nothing. A deferred write gets its revision, its watch event and
// its CAS slot like any other (it goes through the group commit's queue, so revision order is
// still publish order), but only the newest deferred value of each key is kept here, and written
// as an ordinary row (with its own revision) when:
//   - a durable write touches the key: the held row goes into that write's transaction first,
//     so the log stays a chain (every row's prev_revision is a row on disk, which compaction needs);
//   - the flush interval has passed: every held row rides along with the next durable write
//     (on an idle cluster, a node's 5-minutely status report), which costs a few rows in a
//     transaction that happens anyway; if none comes within a quarter interval more, a small
//     transaction of its own (maintenance timer), and always on flush() or close().
//
// Revisions stay monotonic across a crash through a reservation: a deferred write may only use a
// revision at or below the persisted `reserved_revision`; a batch that needs more raises it by
// RESERVE_BLOCK in the same transaction, before any of its events are published. After a crash
// the store restarts above the reservation, so no revision a client saw is handed out again. One
// small write per RESERVE_BLOCK revisions (hours, for a homelab) buys that, and a crash skips at
// most RESERVE_BLOCK revisions. A fixed jump after an unclean shutdown would not be safe: nothing
// bounds how many deferred writes fit in one flush window.
//
// Deferred events the disk never sees (superseded before a flush) stay in `#log` until compaction
// passes them, so watch replay within the retained window is exact.
import type { InStatement } from "@libsql/client";
import type { KeyValue, WatchEvent } from "../store.ts";
import { RESERVED_REVISION } from "./schema.ts";

/** A kv row as stored. */
export interface Row {
  revision: number;
  key: string;
  /** Stored value; empty for a tombstone. */
  value: string;
  createRevision: number;
  /** The row on disk this one supersedes; 0 for a create. */
  prevRevision: number;
  deleted: boolean;
}

/** What the group commit hands over: a row, and whether it may wait. */
export interface DeferrableWrite extends Row {
  deferred?: boolean;
  /** The value at prevRevision, for the watch event's prev. */
  prevValue?: string;
}

/** Revisions reserved for deferred writes at a time. */
export const RESERVE_BLOCK = 10_000;

interface Held {
  kv: KeyValue;
  /** The key's newest row on disk: the held row's prev_revision when it is written. */
  diskPrevRevision: number;
}

export interface Plan {
  rows: Row[];
  statements: InStatement[];
  /** Call once the rows and statements committed. */
  apply(): void;
}

const setReserved = (value: number): InStatement => ({
  sql: "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
  args: [RESERVED_REVISION, value],
});

const rowOf = (h: Held): Row => ({
  revision: h.kv.modRevision,
  key: h.kv.key,
  value: h.kv.value,
  createRevision: h.kv.createRevision,
  prevRevision: h.diskPrevRevision,
  deleted: false,
});

export class DeferredWrites {
  readonly #held = new Map<string, Held>();
  /** Every deferred event above the compacted revision, in revision order (watch replay). */
  #log: WatchEvent[] = [];

  #lastFlushAt = Date.now();

  /**
   * @param reserved the persisted reservation (0 when none).
   * @param intervalMs how long held rows may wait for a durable write to ride along with (0: only explicit flushes).
   */
  constructor(
    private reserved: number,
    private readonly intervalMs: number,
  ) {}

  /** Whether held rows waited long enough for a durable write: flush them on their own now. */
  overdue(): boolean {
    return this.intervalMs > 0 && this.#held.size > 0 && Date.now() - this.#lastFlushAt >= this.intervalMs * 1.25;
  }

  /** The key's newest state if it is a deferred write not yet on disk. */
  get(key: string): KeyValue | undefined {
    const held = this.#held.get(key);
    return held && { ...held.kv };
  }

  /** Whether a value held here belongs to a key under prefix. */
  holdsUnder(prefix: string): boolean {
    for (const key of this.#held.keys()) if (key.startsWith(prefix)) return true;
    return false;
  }

  get size(): number {
    return this.#held.size;
  }

  /** The oldest revision held only in memory: compaction must stay below it (see LibsqlStore.compact). */
  oldestHeldRevision(): number | undefined {
    let oldest: number | undefined;
    for (const h of this.#held.values()) if (oldest === undefined || h.kv.modRevision < oldest) oldest = h.kv.modRevision;
    return oldest;
  }

  /**
   * The rows one group commit writes: its durable writes, each preceded by the held row of its
   * key if any. Fills in prevValue where the previous state is held here. Nothing changes
   * until apply(), so a failed commit leaves everything as it was.
   */
  plan(batch: readonly DeferrableWrite[]): Plan {
    const view = new Map<string, Held | null>();
    const heldOf = (key: string) => (view.has(key) ? (view.get(key) ?? undefined) : this.#held.get(key));
    const rows: Row[] = [];
    let maxDeferred = 0;
    for (const w of batch) {
      const held = heldOf(w.key);
      if (w.prevValue === undefined && held && held.kv.modRevision === w.prevRevision) w.prevValue = held.kv.value;
      if (w.deferred) {
        const kv = { key: w.key, value: w.value, createRevision: w.createRevision, modRevision: w.revision };
        view.set(w.key, { kv, diskPrevRevision: held ? held.diskPrevRevision : w.prevRevision });
        maxDeferred = w.revision;
        continue;
      }
      if (held) {
        rows.push(rowOf(held));
        view.set(w.key, null);
      }
      rows.push({ revision: w.revision, key: w.key, value: w.value, createRevision: w.createRevision, prevRevision: w.prevRevision, deleted: w.deleted });
    }
    const piggyback = rows.length > 0 && this.intervalMs > 0 && Date.now() - this.#lastFlushAt >= this.intervalMs;
    if (piggyback) {
      for (const key of new Set([...this.#held.keys(), ...view.keys()])) {
        const held = heldOf(key);
        if (!held) continue;
        rows.push(rowOf(held));
        view.set(key, null);
      }
    }
    const reserve = maxDeferred > this.reserved ? maxDeferred + RESERVE_BLOCK : undefined;
    return {
      rows,
      statements: reserve === undefined ? [] : [setReserved(reserve)],
      apply: () => {
        if (piggyback) this.#lastFlushAt = Date.now();
        for (const [key, held] of view) {
          if (held) this.#held.set(key, held);
          else this.#held.delete(key);
        }
        if (reserve !== undefined) this.reserved = reserve;
      },
    };
  }

  /**
   * Every held row, for the periodic flush. On close (`closingAt` = the last revision handed out)
   * the reservation also comes down to it: a clean restart then continues without a gap.
   */
  planFlush(closingAt?: number): Plan {
    const rows = [...this.#held.values()].map(rowOf);
    const lower = closingAt !== undefined && this.reserved > closingAt;
    return {
      rows,
      statements: lower ? [setReserved(closingAt)] : [],
      apply: () => {
        this.#held.clear();
        this.#lastFlushAt = Date.now();
        if (lower) this.reserved = closingAt;
      },
    };
  }

  /** Keeps a published deferred event for watch replay. */
  record(event: WatchEvent): void {
    this.#log.push(event);
  }

  /** Deferred events on keys under prefix with after < revision <= upTo, oldest first. */
  history(prefix: string, after: number, upTo: number, limit: number): WatchEvent[] {
    const out: WatchEvent[] = [];
    for (let i = firstAfter(this.#log, after); i < this.#log.length && out.length < limit; i++) {
      const e = this.#log[i]!;
      if (e.revision > upTo) break;
      if (e.kv.key.startsWith(prefix)) out.push(e);
    }
    return out;
  }

  /** Forgets deferred events at or below a compacted revision. */
  dropHistory(upTo: number): void {
    const n = firstAfter(this.#log, upTo);
    if (n > 0) this.#log = this.#log.slice(n);
  }
}

/** Index of the first event with revision > after. */
function firstAfter(log: readonly WatchEvent[], after: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid]!.revision <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Two revision-ordered event lists as one, the first list winning on equal revisions. */
export function mergeByRevision(preferred: readonly WatchEvent[], other: readonly WatchEvent[], limit: number): WatchEvent[] {
  const out: WatchEvent[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < preferred.length || j < other.length)) {
    const a = preferred[i];
    const b = other[j];
    if (b === undefined || (a !== undefined && a.revision <= b.revision)) {
      if (b !== undefined && a!.revision === b.revision) j++;
      out.push(a!);
      i++;
    } else {
      out.push(b);
      j++;
    }
  }
  return out;
}
