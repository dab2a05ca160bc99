import { expect, test } from "bun:test";
import { openStore } from "../store";
import { TooOldError, WatchCache, type CacheEvent } from "./watchcache";

test("keeps a bounded window of events: a watch from inside it replays, from before it is TooOld", async () => {
  const store = await openStore("memory:");
  const cache = await WatchCache.start(store, "/registry/", 3);
  const key = "/registry/core/configmaps/default/a";
  let kv = await store.create(key, '{"v":0}');
  const revisions = [kv.modRevision];
  for (let v = 1; v <= 4; v++) {
    kv = await store.update(key, `{"v":${v}}`, kv.modRevision);
    revisions.push(kv.modRevision);
  }
  await cache.waitFor(kv.modRevision);

  const seen: CacheEvent[] = [];
  cache.watch("/registry/core/configmaps/", revisions[1]!, (e) => seen.push(e)).stop();
  expect(seen.map((e) => e.value)).toEqual(['{"v":2}', '{"v":3}', '{"v":4}']);
  // Each update carries the value before it, as the store reported it.
  expect(seen.map((e) => e.prevValue)).toEqual(['{"v":1}', '{"v":2}', '{"v":3}']);
  expect(() => cache.watch("/registry/core/configmaps/", revisions[0]!, () => {})).toThrow(TooOldError);
  cache.stop();
  await store.close();
});
