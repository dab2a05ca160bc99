// The API server's watch cache: every object's latest serialized value plus a window of recent
// events, kept in memory and fed by one store watch. Lists, gets and watches are served from
// here, so a hundred watchers or a burst of `kubectl get` cost the database nothing.
import type { KeyValue, Store, Watch, WatchEvent } from "../store/store";

export type CacheEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface CacheEvent {
  type: CacheEventType;
  key: string;
  /** The object after the event (for DELETED: its last state). */
  value: string;
  /** The object before the event, for MODIFIED and DELETED. */
  prevValue?: string;
  revision: number;
  createRevision: number;
}

/** The watch asked for a revision older than the retained window: the client must relist. */
export class TooOldError extends Error {
  constructor(readonly requested: number, readonly oldest: number) {
    super(`too old resource version: ${requested} (${oldest})`);
  }
}

const INITIAL_PAGE = 500;

/**
 * Events kept in memory for watches that resume from a recent resourceVersion. A watch from
 * further back is served from the store's own history (handlers/watch.ts), so the window trades
 * memory for database reads only. Each retained event keeps the object's JSON at that revision
 * and before it alive: 10,000 events held ~5 MB of superseded pod JSON after the memory
 * benchmark's burst; upstream's watch cache starts at 100 events per resource.
 */
export const HISTORY_CAPACITY = 1_000;

interface Watcher {
  prefix: string;
  onEvent(e: CacheEvent): void;
}

export const cacheEventOf = (e: WatchEvent): CacheEvent => ({
  type: typeOf[e.type],
  key: e.kv.key,
  value: e.kv.value,
  prevValue: e.prev?.value,
  revision: e.revision,
  createRevision: e.kv.createRevision,
});

const typeOf: Record<WatchEvent["type"], CacheEventType> = {
  create: "ADDED",
  update: "MODIFIED",
  delete: "DELETED",
};

/** The collection part of a key: "/registry/core/pods/default/web" → "/registry/core/pods/". */
const collectionOf = (key: string) => {
  const third = key.indexOf("/", key.indexOf("/", "/registry/".length) + 1);
  return key.slice(0, third + 1);
};

export class WatchCache {
  private collections = new Map<string, Map<string, KeyValue>>();
  private history: CacheEvent[] = [];
  private historyStart = 0; // index of the oldest retained event in `history`
  private watchers = new Set<Watcher>();
  private waiting: { revision: number; resolve: () => void }[] = [];
  private storeWatch?: Watch;
  /** Revision this cache is consistent with. */
  revision = 0;
  /** Events at or below this revision are no longer retained. */
  private oldestRevision = 0;

  private constructor(private readonly capacity: number) {}

  static async start(store: Store, prefix = "/registry/", capacity = HISTORY_CAPACITY): Promise<WatchCache> {
    const cache = new WatchCache(capacity);
    // Paged, so start-up never holds a second full copy of the data. Pages may come from later
    // revisions than the first; replaying every event after the first page's revision, in order,
    // brings every key to its latest state whatever page it came from.
    let startRevision: number | undefined;
    let after: string | undefined;
    for (;;) {
      const page = await store.list(prefix, { startAfter: after, limit: INITIAL_PAGE });
      startRevision ??= page.revision;
      for (const kv of page.items) cache.put(kv);
      if (page.items.length < INITIAL_PAGE) break;
      after = page.items[page.items.length - 1]!.key;
    }
    cache.revision = startRevision;
    cache.oldestRevision = startRevision;
    cache.storeWatch = store.watch(prefix, startRevision, (e) => cache.apply(e));
    return cache;
  }

  stop() {
    this.storeWatch?.stop();
    for (const w of this.waiting) w.resolve();
    this.waiting = [];
  }

  get(key: string): KeyValue | undefined {
    return this.collections.get(collectionOf(key))?.get(key);
  }

  /** Objects under prefix (which must lie within one collection), sorted by key. */
  list(prefix: string): KeyValue[] {
    const collection = this.collections.get(collectionOf(prefix + "x"));
    if (!collection) return [];
    const out: KeyValue[] = [];
    for (const [key, kv] of collection) if (key.startsWith(prefix)) out.push(kv);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Count of objects per collection, for metrics and memory benchmarks. */
  size(): number {
    let n = 0;
    for (const c of this.collections.values()) n += c.size;
    return n;
  }

  /**
   * Calls onEvent for every event under prefix with revision > fromRevision: first those still in
   * the window, then live ones. Throws TooOldError if the window no longer reaches back that far.
   */
  watch(prefix: string, fromRevision: number, onEvent: (e: CacheEvent) => void): { stop(): void } {
    if (fromRevision < this.oldestRevision) throw new TooOldError(fromRevision, this.oldestRevision);
    for (let i = this.firstIndexAfter(fromRevision); i < this.history.length; i++) {
      const e = this.history[i]!;
      if (e.key.startsWith(prefix)) onEvent(e);
    }
    const watcher: Watcher = { prefix, onEvent };
    this.watchers.add(watcher);
    return { stop: () => this.watchers.delete(watcher) };
  }

  /** Resolves once the cache has seen the given revision (read-your-writes after a store write). */
  waitFor(revision: number): Promise<void> {
    if (this.revision >= revision) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ revision, resolve }));
  }

  watcherCount() {
    return this.watchers.size;
  }

  private put(kv: KeyValue) {
    const name = collectionOf(kv.key);
    let collection = this.collections.get(name);
    if (!collection) this.collections.set(name, (collection = new Map()));
    collection.set(kv.key, kv);
  }

  private apply(e: WatchEvent) {
    const event = cacheEventOf(e);
    // The store's previous value is a copy of what this cache already holds for the key: keep
    // one string, not two, while the older event is still in the window.
    const current = event.prevValue !== undefined ? this.get(e.kv.key) : undefined;
    if (current && current.value === event.prevValue) event.prevValue = current.value;
    if (e.type === "delete") this.collections.get(collectionOf(e.kv.key))?.delete(e.kv.key);
    else this.put(e.kv);
    this.record(event);
    this.revision = e.revision;
    for (const w of this.watchers) {
      if (!event.key.startsWith(w.prefix)) continue;
      try {
        w.onEvent(event);
      } catch {
        // A watcher's failure (a closed stream) must not stop the fan-out to the others.
        this.watchers.delete(w);
      }
    }
    if (this.waiting.length) {
      const ready = this.waiting.filter((w) => w.revision <= this.revision);
      this.waiting = this.waiting.filter((w) => w.revision > this.revision);
      for (const w of ready) w.resolve();
    }
  }

  private record(e: CacheEvent) {
    this.history.push(e);
    if (this.history.length - this.historyStart > this.capacity) {
      this.oldestRevision = this.history[this.historyStart]!.revision;
      this.historyStart++;
      // Compact the array now and then instead of shifting on every event.
      if (this.historyStart > this.capacity / 2) {
        this.history = this.history.slice(this.historyStart);
        this.historyStart = 0;
      }
    }
  }

  private firstIndexAfter(revision: number): number {
    let lo = this.historyStart;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.history[mid]!.revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
