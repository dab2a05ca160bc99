// Fan-out of committed events to watchers, shared by every backend. A watcher that starts from
// a past revision first pages through the backend's retained history while live events are
// buffered; both are delivered through one revision filter, so the switch from history to live
// has no gap (live events are buffered from the moment the watch is registered, before history
// is read) and no duplicate (anything at or below the last delivered revision is skipped).
import type { Watch, WatchEvent } from "./store.ts";

/** Reads retained history: events on keys under prefix with revision > after, oldest first. */
export type ReadHistory = (prefix: string, after: number, limit: number) => Promise<WatchEvent[]>;

const HISTORY_PAGE = 500;

class Watcher implements Watch {
  /** Live events that arrived while history was being replayed; null once live. */
  buffer: WatchEvent[] | null = null;
  stopped = false;

  constructor(
    readonly prefix: string,
    public lastDelivered: number,
    private readonly onEvent: (e: WatchEvent) => void,
    private readonly unregister: (w: Watcher) => void,
  ) {}

  offer(event: WatchEvent): void {
    if (this.stopped) return;
    if (this.buffer) this.buffer.push(event);
    else this.deliver(event);
  }

  deliver(event: WatchEvent): void {
    if (this.stopped || event.revision <= this.lastDelivered) return;
    if (!event.kv.key.startsWith(this.prefix)) return;
    this.lastDelivered = event.revision;
    try {
      this.onEvent(event);
    } catch (err) {
      // A watcher's bug must not break the writer that is publishing, nor other watchers.
      console.error(`store: watch callback on ${JSON.stringify(this.prefix)} threw`, err);
    }
  }

  stop(): void {
    this.stopped = true;
    this.buffer = null;
    this.unregister(this);
  }
}

export class WatchHub {
  readonly #watchers = new Set<Watcher>();
  /** fromRevision of each watcher still reading history; compaction must not pass the lowest. */
  readonly #replaying = new Map<Watcher, number>();
  readonly #replayDone = new Set<() => void>();

  constructor(private readonly readHistory: ReadHistory) {}

  /**
   * Registers a watcher. The caller has checked fromRevision against compaction.
   * @param publishedRevision the revision of the last event passed to publish().
   */
  add(prefix: string, fromRevision: number, publishedRevision: number, onEvent: (e: WatchEvent) => void): Watch {
    const startAfter = fromRevision === 0 ? publishedRevision : fromRevision;
    const watcher = new Watcher(prefix, startAfter, onEvent, (w) => this.#remove(w));
    this.#watchers.add(watcher);
    // Everything up to publishedRevision is in the history; anything later will be published.
    if (fromRevision !== 0 && fromRevision < publishedRevision) {
      watcher.buffer = [];
      this.#replaying.set(watcher, fromRevision);
      void this.#replay(watcher);
    }
    return watcher;
  }

  /** Delivers committed events, which must come in revision order. */
  publish(events: readonly WatchEvent[]): void {
    if (this.#watchers.size === 0) return;
    for (const event of events) {
      for (const watcher of this.#watchers) watcher.offer(event);
    }
  }

  /** The lowest revision a watcher is still replaying from, if any. */
  oldestReplayFrom(): number | undefined {
    let oldest: number | undefined;
    for (const from of this.#replaying.values()) if (oldest === undefined || from < oldest) oldest = from;
    return oldest;
  }

  /** Resolves once no watcher replays from a revision below `revision`. */
  async replaysPast(revision: number): Promise<void> {
    for (;;) {
      const oldest = this.oldestReplayFrom();
      if (oldest === undefined || oldest >= revision) return;
      await new Promise<void>((resolve) => this.#replayDone.add(resolve));
    }
  }

  stopAll(): void {
    for (const watcher of [...this.#watchers]) watcher.stop();
  }

  async #replay(watcher: Watcher): Promise<void> {
    try {
      for (;;) {
        const page = await this.readHistory(watcher.prefix, watcher.lastDelivered, HISTORY_PAGE);
        if (watcher.stopped) return;
        for (const event of page) watcher.deliver(event);
        if (page.length < HISTORY_PAGE) break;
      }
      const buffered = watcher.buffer ?? [];
      watcher.buffer = null;
      for (const event of buffered) watcher.deliver(event);
    } catch (err) {
      // The interface has no error channel: end the watch, as a dropped connection would, and
      // the client re-lists and re-watches.
      console.error(`store: replaying history for watch on ${JSON.stringify(watcher.prefix)} failed`, err);
      watcher.stop();
    } finally {
      this.#replaying.delete(watcher);
      for (const resolve of this.#replayDone) resolve();
      this.#replayDone.clear();
    }
  }

  #remove(watcher: Watcher): void {
    this.#watchers.delete(watcher);
  }
}
