// Watch: a stream of newline-separated JSON events (`{"type":"ADDED","object":{...}}`), from the
// watch cache. Filters turn MODIFIED into ADDED/DELETED when an object enters or leaves the
// selection, as upstream does, so a client's view stays exact.
//
// Fan-out cost: a cache event is decoded once and encoded once per event type for all watchers
// that want plain JSON (Tables depend on each watcher's query, so they are built per watcher),
// and a watcher's events of one tick (a group commit publishes many) go out as one chunk.
import { watchEnded, watchLabels, watchStarted } from "../request-metrics";
import type { Server } from "bun";
import { gone } from "../../../api/errors";
import type { KubeObject } from "../../../api/meta";
import { apiVersionOf, type ResourceDef } from "../../../api/resource";
import { decode } from "../objects/codec";
import { listPrefix } from "../objects/keys";
import { boolParam, intParam, objectFilter } from "../query";
import { toTable, wantsTable } from "../tables";
import { CompactedError } from "../../store/store";
import { cacheEventOf, TooOldError, type CacheEvent } from "../watchcache";
import type { ApiContext } from "./context";
import { fromStored } from "./versions";

type EventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

const BOOKMARK_INTERVAL_MS = 10_000;
/** A watcher this far behind is cut off; it will relist, which is cheaper than buffering forever. */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
const DEFAULT_TIMEOUT_S = 1800;

const encoder = new TextEncoder();

/** What the watchers of one cache event share: the decoded object(s) and the encoded JSON lines. */
interface SharedEvent {
  obj?: KubeObject;
  prev?: KubeObject;
  lines?: Partial<Record<EventType, Uint8Array>>;
}

/**
 * The shared form of the event being fanned out. The cache hands one event to every watcher in
 * one synchronous loop, so one slot is enough; keying by event instead (a WeakMap) would keep the
 * decoded object and its JSON alive for as long as the event sits in the cache's history window,
 * i.e. a second and third copy of the last 10,000 events.
 */
let current: { event: CacheEvent; shared: SharedEvent } | undefined;

function sharedOf(e: CacheEvent): SharedEvent {
  if (current?.event !== e) current = { event: e, shared: {} };
  return current.shared;
}

// Filters and shapes only read these objects; nothing may change them, as every watcher sees them.
const objectOf = (e: CacheEvent, s: SharedEvent) => (s.obj ??= decode({ value: e.value, modRevision: e.revision }));
const prevObjectOf = (e: CacheEvent, s: SharedEvent) => (s.prev ??= decode({ value: e.prevValue!, modRevision: e.revision }));

const lineOf = (type: EventType, object: unknown) => encoder.encode(JSON.stringify({ type, object }) + "\n");

function sharedLine(e: CacheEvent, s: SharedEvent, type: EventType): Uint8Array {
  const lines = (s.lines ??= {});
  return (lines[type] ??= lineOf(type, objectOf(e, s)));
}

export function watchObjects(ctx: ApiContext, req: Request, server: Server<unknown> | undefined, url: URL, def: ResourceDef, namespace: string | undefined, name?: string): Response {
  const selection = objectFilter(def, url, name);
  const filter = selection ?? (() => true);
  const asTable = wantsTable(req);
  const bookmarks = boolParam(url, "allowWatchBookmarks");
  const timeoutS = intParam(url, "timeoutSeconds") ?? DEFAULT_TIMEOUT_S;
  const rvParam = url.searchParams.get("resourceVersion") ?? "";
  const sendInitial = boolParam(url, "sendInitialEvents", rvParam === "" || rvParam === "0");
  const fromRevision = rvParam === "" || rvParam === "0" ? ctx.cache.revision : Number(rvParam);
  if (!Number.isInteger(fromRevision) || fromRevision < 0) throw gone(`invalid resource version "${rvParam}"`);

  // Watches are long-lived by design; Bun's idle timeout must not cut them.
  server?.timeout(req, 0);
  const shape = (obj: KubeObject) => (asTable ? toTable(def, [obj], url, { resourceVersion: obj.metadata.resourceVersion }) : fromStored(def, obj));
  // The shared lines hold the stored version; another version's watchers encode their own.
  const ownLines = asTable || def.servedAs !== undefined;

  let cleanup = () => {};
  const metricLabels = watchLabels(def.group, def.version, def.plural, namespace, name);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      let watch: { stop(): void } | undefined;
      const timers: Timer[] = [];
      let sentAny = false;
      // Lines queued in this tick; written as one chunk (one enqueue, one socket write).
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      /** Enqueues the pending lines; false if the stream is gone or too far behind. */
      const drain = (): boolean => {
        const lines = pending;
        const size = pendingBytes;
        pending = [];
        pendingBytes = 0;
        if (lines.length === 0) return true;
        // Always a fresh buffer: shared lines must not be handed to a stream as they are.
        const chunk = new Uint8Array(size);
        let at = 0;
        for (const l of lines) {
          chunk.set(l, at);
          at += l.length;
        }
        try {
          controller.enqueue(chunk);
        } catch {
          return false;
        }
        return (controller.desiredSize ?? 0) >= -MAX_QUEUED_BYTES;
      };
      const close = () => {
        if (closed) return;
        drain(); // an ERROR, or the last events before a timeout, still go out
        closed = true;
        watch?.stop();
        timers.forEach(clearTimeout);
        ctx.watches.delete(close);
        watchEnded(metricLabels);
        try {
          controller.close();
        } catch {}
      };
      const flush = () => {
        if (!closed && !drain()) close();
      };
      cleanup = close;
      ctx.watches.add(close);
      watchStarted(metricLabels);
      const sendLine = (line: Uint8Array) => {
        if (closed) return;
        sentAny = true;
        if (pending.length === 0) queueMicrotask(flush);
        pending.push(line);
        pendingBytes += line.length;
      };
      const send = (type: EventType, object: unknown) => sendLine(lineOf(type, object));
      const bookmark = (annotations?: Record<string, string>) =>
        send("BOOKMARK", { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(ctx.cache.revision), ...(annotations && { annotations }) } });

      const onEvent = (e: CacheEvent) => {
        if (closed) return;
        const s = sharedOf(e);
        const obj = objectOf(e, s);
        const now = filter(obj);
        const before = selection && e.prevValue !== undefined && e.type === "MODIFIED" ? filter(prevObjectOf(e, s)) : now;
        const type: EventType | undefined = e.type === "MODIFIED" && now !== before ? (now ? "ADDED" : "DELETED") : now ? e.type : undefined;
        if (!type) return;
        if (ownLines) send(type, shape(obj));
        else sendLine(sharedLine(e, s, type));
      };

      try {
        if (sendInitial) {
          for (const kv of ctx.cache.list(listPrefix(def, namespace))) {
            const obj = decode(kv);
            if (filter(obj)) send("ADDED", shape(obj));
          }
          if (url.searchParams.has("sendInitialEvents")) bookmark({ "k8s.io/initial-events-end": "true" });
        }
        watch = ctx.cache.watch(listPrefix(def, namespace), sendInitial ? ctx.cache.revision : fromRevision, onEvent);
      } catch (e) {
        if (!(e instanceof TooOldError)) throw e;
        // Older than the cache's window (e.g. from before a restart) but maybe still in the
        // store's history: this one watcher reads from the store instead.
        try {
          watch = ctx.store.watch(listPrefix(def, namespace), fromRevision, (ev) => onEvent(cacheEventOf(ev)));
        } catch (e2) {
          if (!(e2 instanceof CompactedError)) throw e2;
          send("ERROR", gone(`too old resource version: ${e.requested} (${e2.compacted})`).toStatus());
          close();
          return;
        }
      }
      // Bun sends the status line and headers only with the first body bytes. A client that
      // waits for the response before it changes anything (client-node's Watch, fetch) would
      // otherwise wait for the first bookmark or the timeout. One space is valid leading
      // whitespace for the first JSON event to every stream decoder.
      if (!sentAny) controller.enqueue(encoder.encode(" "));
      if (bookmarks) timers.push(setInterval(() => bookmark(), BOOKMARK_INTERVAL_MS));
      timers.push(setTimeout(close, timeoutS * 1000));
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(stream, { headers: { "content-type": "application/json", "transfer-encoding": "chunked", "cache-control": "no-cache" } });
}
