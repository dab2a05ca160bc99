// get, list (paged, filtered, as a Table when asked) — all served from the watch cache.
import type { KubeObject } from "../../../api/meta";
import { apiVersionOf, type ResourceDef } from "../../../api/resource";
import { decode } from "../objects/codec";
import { listPrefix } from "../objects/keys";
import { decodeContinue, encodeContinue, intParam, objectFilter } from "../query";
import { toTable, wantsTable } from "../tables";
import type { ApiContext } from "./context";
import { json } from "./respond";
import { fromStored, storedDef } from "./versions";

export function getObject(ctx: ApiContext, req: Request, url: URL, def: ResourceDef, namespace: string | undefined, name: string) {
  const obj = ctx.objects.get(storedDef(def), namespace, name);
  return json(wantsTable(req) ? toTable(def, [obj], url, { resourceVersion: obj.metadata.resourceVersion }) : fromStored(def, obj));
}

export function listObjects(ctx: ApiContext, req: Request, url: URL, def: ResourceDef, namespace: string | undefined) {
  const filter = objectFilter(def, url);
  const limit = intParam(url, "limit") || undefined;
  const token = url.searchParams.get("continue");
  const start = token ? decodeContinue(token).start : undefined;

  const revision = ctx.cache.revision;
  const kvs = ctx.cache.list(listPrefix(def, namespace));
  const items: KubeObject[] = [];
  let lastKey = "";
  let more = false;
  let i = start === undefined ? 0 : firstAfter(kvs, start);
  for (; i < kvs.length; i++) {
    const obj = decode(kvs[i]!);
    if (filter && !filter(obj)) continue;
    if (limit && items.length === limit) {
      more = true;
      break;
    }
    items.push(obj);
    lastKey = kvs[i]!.key;
  }
  const metadata: Record<string, unknown> = { resourceVersion: String(revision) };
  if (more) {
    metadata.continue = encodeContinue({ rv: revision, start: lastKey });
    if (!filter) metadata.remainingItemCount = kvs.length - i;
  }
  if (wantsTable(req)) return json(toTable(def, items, url, metadata));
  return json({ kind: def.listKind, apiVersion: apiVersionOf(def), metadata, items: def.servedAs ? items.map((o) => fromStored(def, o)) : items });
}

/** Index of the first key strictly after `key` in a key-sorted list. */
function firstAfter(kvs: { key: string }[], key: string): number {
  let lo = 0;
  let hi = kvs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (kvs[mid]!.key <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
