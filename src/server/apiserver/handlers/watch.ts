// Watch: a stream of newline-separated JSON events (`{"type":"ADDED","object":{...}}`), from the
// watch cache. Filters turn MODIFIED into ADDED/DELETED when an object enters or leaves the
// selection, as upstream does, so a client's view stays exact.
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

type EventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

const BOOKMARK_INTERVAL_MS = 10_000;
/** A watcher this far behind is cut off; it will relist, which is cheaper than buffering forever. */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
const DEFAULT_TIMEOUT_S = 1800;

export function watchObjects(ctx: ApiContext, req: Request, server: Server<unknown> | undefined, url: URL, def: ResourceDef, namespace: string | undefined, name?: string): Response {
  const filter = objectFilter(def, url, name) ?? (() => true);
  const asTable = wantsTable(req);
  const bookmarks = boolParam(url, "allowWatchBookmarks");
  const timeoutS = intParam(url, "timeoutSeconds") ?? DEFAULT_TIMEOUT_S;
  const rvParam = url.searchParams.get("resourceVersion") ?? "";
  const sendInitial = url.searchParams.has("sendInitialEvents") ? boolParam(url, "sendInitialEvents") : rvParam === "" || rvParam === "0";
  const fromRevision = rvParam === "" || rvParam === "0" ? ctx.cache.revision : Number(rvParam);
  if (!Number.isInteger(fromRevision) || fromRevision < 0) throw gone(`invalid resource version "${rvParam}"`);

  // Watches are long-lived by design; Bun's idle timeout must not cut them.
  server?.timeout(req, 0);
  const encoder = new TextEncoder();
  const shape = (obj: KubeObject) => (asTable ? toTable(def, [obj], url, { resourceVersion: obj.metadata.resourceVersion }) : obj);

  let cleanup = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      let watch: { stop(): void } | undefined;
      const timers: Timer[] = [];
      const close = () => {
        if (closed) return;
        closed = true;
        watch?.stop();
        timers.forEach(clearTimeout);
        ctx.watches.delete(close);
        try {
          controller.close();
        } catch {}
      };
      cleanup = close;
      ctx.watches.add(close);
      let sentAny = false;
      const send = (type: EventType, object: unknown) => {
        if (closed) return;
        sentAny = true;
        controller.enqueue(encoder.encode(JSON.stringify({ type, object }) + "\n"));
        if ((controller.desiredSize ?? 0) < -MAX_QUEUED_BYTES) close();
      };
      const bookmark = (annotations?: Record<string, string>) =>
        send("BOOKMARK", { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(ctx.cache.revision), ...(annotations && { annotations }) } });

      const onEvent = (e: CacheEvent) => {
        const obj = decode({ value: e.value, modRevision: e.revision });
        const now = filter(obj);
        const before = e.prevValue !== undefined && e.type === "MODIFIED" ? filter(decode({ value: e.prevValue, modRevision: e.revision })) : now;
        if (e.type === "MODIFIED" && now !== before) send(now ? "ADDED" : "DELETED", shape(obj));
        else if (now) send(e.type, shape(obj));
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
