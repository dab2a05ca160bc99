// Events expire an hour after they were last written, as with kube-apiserver's --event-ttl (1h by
// default, an etcd lease on every Event write). Without it every FailedScheduling, Scheduled and
// SuccessfulCreate Event stayed in the database and in the watch cache forever, and a long-running
// server's memory grew with every pod it ever scheduled.
//
// Write times come from the watch cache's events (one small entry per Event write, in write order,
// so a sweep looks only at the head of the queue); Events already stored at start-up count from
// the newest timestamp they carry. Expiry deletes through the store, like a lease running out: no
// admission, no finalizers, and a newer write (the key's revision moved on) is never deleted.
import { createLogger } from "../../machinery/log";
import { KeyNotFoundError, RevisionConflictError, type Store } from "../store/store";
import type { CacheEvent, WatchCache } from "./watchcache";

export const EVENT_TTL_MS = 60 * 60_000;
const SWEEP_INTERVAL_MS = 60_000;
const EVENTS_PREFIX = "/registry/core/events/";
const log = createLogger("event-ttl");

interface Written {
  key: string;
  revision: number;
  at: number;
}

export interface EventExpiryOptions {
  ttlMs?: number;
  sweepIntervalMs?: number;
  now?: () => number;
}

export interface EventExpiry {
  /** Deletes every Event whose last write is older than the TTL; resolves to how many. */
  sweep(): Promise<number>;
  stop(): void;
}

/** The newest time an Event says it was written or seen (lastTimestamp, eventTime, series, creation). */
export function lastSeenOf(json: string): number {
  try {
    const e = JSON.parse(json) as { lastTimestamp?: string; eventTime?: string; series?: { lastObservedTime?: string }; metadata?: { creationTimestamp?: string } };
    const times = [e.lastTimestamp, e.eventTime, e.series?.lastObservedTime, e.metadata?.creationTimestamp].map((t) => (t ? Date.parse(t) : NaN)).filter((t) => !Number.isNaN(t));
    return times.length ? Math.max(...times) : 0;
  } catch {
    return 0;
  }
}

export function startEventExpiry(cache: WatchCache, store: Store, opts: EventExpiryOptions = {}): EventExpiry {
  const ttl = opts.ttlMs ?? EVENT_TTL_MS;
  const now = opts.now ?? Date.now;
  // Oldest first: what is loaded now, by its own timestamps, then every later write as it happens.
  let queue: Written[] = cache
    .list(EVENTS_PREFIX)
    .map((kv) => ({ key: kv.key, revision: kv.modRevision, at: lastSeenOf(kv.value) }))
    .sort((a, b) => a.at - b.at);
  let head = 0;
  const watch = cache.watch(EVENTS_PREFIX, cache.revision, (e: CacheEvent) => {
    if (e.type !== "DELETED") queue.push({ key: e.key, revision: e.revision, at: now() });
  });

  let sweeping: Promise<number> | undefined;
  const sweep = () =>
    (sweeping ??= (async () => {
      const cutoff = now() - ttl;
      let deleted = 0;
      while (head < queue.length && queue[head]!.at <= cutoff) {
        const w = queue[head++]!;
        // Written again since (a newer entry further down the queue), or gone already.
        if (cache.get(w.key)?.modRevision !== w.revision) continue;
        try {
          await store.delete(w.key, w.revision);
          deleted++;
        } catch (e) {
          if (!(e instanceof RevisionConflictError || e instanceof KeyNotFoundError)) throw e;
        }
      }
      if (head > 1024 && head > queue.length / 2) {
        queue = queue.slice(head);
        head = 0;
      }
      return deleted;
    })().finally(() => (sweeping = undefined)));

  const timer = setInterval(() => void sweep().catch((e) => log.warn("expiring events failed; retrying next sweep", { error: String(e) })), opts.sweepIntervalMs ?? SWEEP_INTERVAL_MS);
  return {
    sweep,
    stop() {
      clearInterval(timer);
      watch.stop();
    },
  };
}
