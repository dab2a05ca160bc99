import { expect, test } from "bun:test";
import { openStore } from "../store";
import { lastSeenOf, startEventExpiry } from "./eventttl";
import { WatchCache } from "./watchcache";

const HOUR = 60 * 60_000;
const T0 = Date.parse("2026-11-25T12:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const event = (name: string, last: number) => JSON.stringify({ metadata: { name, namespace: "default", creationTimestamp: iso(last - 1000) }, reason: "X", lastTimestamp: iso(last) });
const key = (name: string) => `/registry/core/events/default/${name}`;

test("an Event's last-seen time is the newest timestamp it carries", () => {
  expect(lastSeenOf(event("a", T0))).toBe(T0);
  expect(lastSeenOf(JSON.stringify({ eventTime: "2026-11-25T12:00:00.500000Z", metadata: { creationTimestamp: "2026-11-25T11:00:00Z" } }))).toBe(T0 + 500);
  expect(lastSeenOf("not json")).toBe(0);
});

test("Events expire an hour after their last write; rewritten ones live on, other objects are never touched", async () => {
  const store = await openStore("memory:");
  let now = T0;
  // Stored before this API server started: expires by its own timestamp.
  await store.create(key("old"), event("old", T0 - 2 * HOUR));
  await store.create(key("recent"), event("recent", T0 - 10 * 60_000));
  const cm = await store.create("/registry/core/configmaps/default/c", JSON.stringify({ metadata: { name: "c" } }));
  const cache = await WatchCache.start(store);
  const expiry = startEventExpiry(cache, store, { now: () => now, sweepIntervalMs: 3_600_000 });

  const written = await store.create(key("new"), event("new", T0));
  await cache.waitFor(written.modRevision);
  expect(await expiry.sweep()).toBe(1);
  expect(await store.get(key("old"))).toBeUndefined();
  await cache.waitFor(await store.currentRevision());
  expect(cache.get(key("old"))).toBeUndefined(); // watchers saw it go, and the cache let it go

  // Half an hour later "new" is written again (a repeat's count); "recent" passes its hour.
  now = T0 + 30 * 60_000;
  const again = await store.update(key("new"), event("new", now), written.modRevision);
  await cache.waitFor(again.modRevision);
  now = T0 + 61 * 60_000;
  expect(await expiry.sweep()).toBe(1);
  expect(await store.get(key("recent"))).toBeUndefined();
  expect(await store.get(key("new"))).toBeDefined(); // its first write is an hour old, its last is not

  now = T0 + 91 * 60_000;
  expect(await expiry.sweep()).toBe(1);
  expect(await store.get(key("new"))).toBeUndefined();
  expect((await store.get(cm.key))?.modRevision).toBe(cm.modRevision);
  expiry.stop();
  cache.stop();
  await store.close();
});
