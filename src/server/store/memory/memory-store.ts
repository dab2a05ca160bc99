// The in-memory backend, for unit tests: the same semantics as the libSQL store (one
// cluster-wide revision, CAS, retained history, compaction, CompactedError), nothing on disk.
import { compareKeys } from "../keys.ts";
import {
  CompactedError,
  KeyExistsError,
  KeyNotFoundError,
  RevisionConflictError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type ValueRewrite,
  type Watch,
  type WatchEvent,
  type WriteOptions,
} from "../store.ts";
import { WatchHub } from "../watch-hub.ts";

export interface MemoryStoreOptions {
  /** Revisions of history kept for watch resume; older history is compacted automatically. 0 = never (default). */
  retainRevisions?: number;
}

export class MemoryStore implements Store {
  readonly #current = new Map<string, KeyValue>();
  /** Every event after compactedRev, in revision order. */
  #history: WatchEvent[] = [];
  #revision = 0;
  #compactedRev = 0;
  #closed = false;
  readonly #hub = new WatchHub(async (prefix, after, limit) => this.#readHistory(prefix, after, limit));

  constructor(private readonly opts: MemoryStoreOptions = {}) {}

  async get(key: string): Promise<KeyValue | undefined> {
    this.#checkOpen();
    return this.#current.get(key);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.#checkOpen();
    let keys = [...this.#current.keys()].filter(
      (k) => k.startsWith(prefix) && (opts.startAfter === undefined || compareKeys(k, opts.startAfter) > 0),
    );
    keys.sort(compareKeys);
    if (opts.limit !== undefined && opts.limit > 0) keys = keys.slice(0, opts.limit);
    return { items: keys.map((k) => this.#current.get(k)!), revision: this.#revision };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.#checkOpen();
    if (this.#current.has(key)) throw new KeyExistsError(key);
    const revision = this.#revision + 1;
    const kv: KeyValue = { key, value, createRevision: revision, modRevision: revision };
    this.#commit({ type: "create", kv, revision });
    return kv;
  }

  /** Deferred writes (durable: false) behave exactly like durable ones: nothing here is on disk anyway. */
  async update(key: string, value: string, expectedRevision: number, _opts?: WriteOptions): Promise<KeyValue> {
    this.#checkOpen();
    const prev = this.#current.get(key);
    if (!prev) throw new KeyNotFoundError(key);
    if (prev.modRevision !== expectedRevision) throw new RevisionConflictError(key, prev);
    const revision = this.#revision + 1;
    const kv: KeyValue = { key, value, createRevision: prev.createRevision, modRevision: revision };
    this.#commit({ type: "update", kv, prev, revision });
    return kv;
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    this.#checkOpen();
    const prev = this.#current.get(key);
    if (!prev) throw new KeyNotFoundError(key);
    if (expectedRevision !== undefined && prev.modRevision !== expectedRevision) {
      throw new RevisionConflictError(key, prev);
    }
    const revision = this.#revision + 1;
    const kv: KeyValue = { ...prev, modRevision: revision };
    this.#commit({ type: "delete", kv, prev, revision });
    return kv;
  }

  watch(prefix: string, fromRevision: number, onEvent: (e: WatchEvent) => void): Watch {
    this.#checkOpen();
    if (fromRevision !== 0 && fromRevision < this.#compactedRev) {
      throw new CompactedError(fromRevision, this.#compactedRev);
    }
    return this.#hub.add(prefix, fromRevision, this.#revision, onEvent);
  }

  async currentRevision(): Promise<number> {
    return this.#revision;
  }

  async compactedRevision(): Promise<number> {
    return this.#compactedRev;
  }

  async compact(revision: number): Promise<void> {
    this.#checkOpen();
    const target = Math.min(revision, this.#revision);
    if (target <= this.#compactedRev) return;
    // Same rule as the libSQL backend: a watcher already replaying older history finishes first.
    this.#compactedRev = target;
    await this.#hub.replaysPast(target);
    this.#history = this.#history.filter((e) => e.revision > target);
  }

  /** Same contract as the libSQL backend; there are no files, so nothing to scrub. */
  async rewriteValues(prefix: string, rewrite: ValueRewrite): Promise<number> {
    this.#checkOpen();
    // Current values and history share KeyValue objects: rewrite each distinct one once.
    const done = new Map<KeyValue, KeyValue>();
    let rewritten = 0;
    // A delete event's kv is a copy of the last value, not a row of its own: it is not counted.
    const apply = (kv: KeyValue, isRow = true): KeyValue => {
      const seen = done.get(kv);
      if (seen) return seen;
      const value = kv.key.startsWith(prefix) ? rewrite(kv.key, kv.value) : undefined;
      const next = value === undefined || value === kv.value ? kv : { ...kv, value };
      if (next !== kv && isRow) rewritten++;
      done.set(kv, next);
      return next;
    };
    for (const [key, kv] of this.#current) this.#current.set(key, apply(kv));
    this.#history = this.#history.map((e) => ({ ...e, kv: apply(e.kv, e.type !== "delete"), ...(e.prev ? { prev: apply(e.prev) } : {}) }));
    return rewritten;
  }

  /** Nothing is deferred in memory. */
  async flush(): Promise<void> {
    this.#checkOpen();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#hub.stopAll();
  }

  #commit(event: WatchEvent): void {
    this.#revision = event.revision;
    if (event.type === "delete") this.#current.delete(event.kv.key);
    else this.#current.set(event.kv.key, event.kv);
    this.#history.push(event);
    this.#hub.publish([event]);
    const retain = this.opts.retainRevisions ?? 0;
    if (retain > 0 && this.#revision - retain > this.#compactedRev) void this.compact(this.#revision - retain);
  }

  #readHistory(prefix: string, after: number, limit: number): WatchEvent[] {
    const start = firstAfter(this.#history, after);
    const page: WatchEvent[] = [];
    for (let i = start; i < this.#history.length && page.length < limit; i++) {
      const event = this.#history[i]!;
      if (event.kv.key.startsWith(prefix)) page.push(event);
    }
    return page;
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error("store is closed");
  }
}

/** Index of the first event with revision > after (history is sorted by revision). */
function firstAfter(history: readonly WatchEvent[], after: number): number {
  let lo = 0;
  let hi = history.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (history[mid]!.revision <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
