// The one contract every Store backend passes. Each backend's test file calls storeContract
// with a harness; the libSQL one opens a temp file and can reopen it.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  CompactedError,
  KeyExistsError,
  KeyNotFoundError,
  RevisionConflictError,
  type Store,
  type WatchEvent,
} from "./store.ts";

export interface StoreHarness {
  /** Opens the store under test; calling it again after close() reopens the same data if persistent. */
  open(): Promise<Store>;
  /** Whether data survives close() + open(). */
  persistent: boolean;
  cleanup?(): Promise<void>;
}

/** Waits (bounded) until cond holds; the bound is a hang guard, not a timing assertion. */
export async function until(cond: () => boolean, what = "condition"): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function collect(store: Store, prefix: string, from: number) {
  const events: WatchEvent[] = [];
  const watch = store.watch(prefix, from, (e) => events.push(e));
  return { events, watch };
}

export function storeContract(name: string, makeHarness: () => StoreHarness): void {
  describe(`Store contract: ${name}`, () => {
    let harness: StoreHarness;
    let store: Store;

    beforeEach(async () => {
      harness = makeHarness();
      store = await harness.open();
    });
    afterEach(async () => {
      await store.close();
      await harness.cleanup?.();
    });

    test("create, get, and get of a missing key", async () => {
      const kv = await store.create("/registry/pods/default/web", "v1");
      expect(kv).toEqual({ key: "/registry/pods/default/web", value: "v1", createRevision: kv.modRevision, modRevision: kv.modRevision });
      expect(await store.get("/registry/pods/default/web")).toEqual(kv);
      expect(await store.get("/registry/pods/default/nope")).toBeUndefined();
    });

    test("create on an existing key throws KeyExistsError", async () => {
      await store.create("/k", "a");
      await expect(store.create("/k", "b")).rejects.toBeInstanceOf(KeyExistsError);
      expect((await store.get("/k"))?.value).toBe("a");
    });

    test("list by prefix in key order, with startAfter and limit", async () => {
      for (const k of ["/r/pods/b", "/r/pods/a", "/r/pods/c", "/r/podsx/a", "/r/svc/a", "/r/pod"]) {
        await store.create(k, k);
      }
      const all = await store.list("/r/pods/");
      expect(all.items.map((i) => i.key)).toEqual(["/r/pods/a", "/r/pods/b", "/r/pods/c"]);
      expect(all.revision).toBe(await store.currentRevision());
      const page1 = await store.list("/r/pods/", { limit: 2 });
      expect(page1.items.map((i) => i.key)).toEqual(["/r/pods/a", "/r/pods/b"]);
      const page2 = await store.list("/r/pods/", { startAfter: "/r/pods/b", limit: 2 });
      expect(page2.items.map((i) => i.key)).toEqual(["/r/pods/c"]);
      expect((await store.list("")).items.length).toBe(6);
      expect((await store.list("/nothing/")).items).toEqual([]);
    });

    test("list shows current values only: updated once, deleted gone", async () => {
      const a = await store.create("/l/a", "1");
      await store.update("/l/a", "2", a.modRevision);
      await store.create("/l/b", "x");
      await store.delete("/l/b");
      const list = await store.list("/l/");
      expect(list.items).toEqual([{ key: "/l/a", value: "2", createRevision: a.createRevision, modRevision: a.modRevision + 1 }]);
    });

    test("CAS update: ok, conflict, not found", async () => {
      const v1 = await store.create("/cas", "1");
      const v2 = await store.update("/cas", "2", v1.modRevision);
      expect(v2.value).toBe("2");
      expect(v2.createRevision).toBe(v1.createRevision);
      expect(v2.modRevision).toBeGreaterThan(v1.modRevision);

      const conflict = await store.update("/cas", "stale", v1.modRevision).catch((e) => e);
      expect(conflict).toBeInstanceOf(RevisionConflictError);
      expect((conflict as RevisionConflictError).current).toEqual(v2);
      expect((await store.get("/cas"))?.value).toBe("2");

      await expect(store.update("/missing", "x", 1)).rejects.toBeInstanceOf(KeyNotFoundError);
    });

    test("delete with and without expected revision", async () => {
      const a = await store.create("/d/a", "A");
      const conflict = await store.delete("/d/a", a.modRevision + 100).catch((e) => e);
      expect(conflict).toBeInstanceOf(RevisionConflictError);
      const deleted = await store.delete("/d/a", a.modRevision);
      expect(deleted.value).toBe("A");
      expect(deleted.createRevision).toBe(a.createRevision);
      expect(deleted.modRevision).toBeGreaterThan(a.modRevision);
      expect(await store.get("/d/a")).toBeUndefined();

      await store.create("/d/b", "B");
      expect((await store.delete("/d/b")).value).toBe("B");
      await expect(store.delete("/d/b")).rejects.toBeInstanceOf(KeyNotFoundError);

      // A re-created key starts a new life: a new createRevision.
      const again = await store.create("/d/a", "A2");
      expect(again.createRevision).toBeGreaterThan(deleted.modRevision);
    });

    test("revision is monotonic and shared across keys", async () => {
      const start = await store.currentRevision();
      const a = await store.create("/m/a", "1");
      const b = await store.create("/m/b", "1");
      const a2 = await store.update("/m/a", "2", a.modRevision);
      const bDel = await store.delete("/m/b");
      expect([a.modRevision, b.modRevision, a2.modRevision, bDel.modRevision]).toEqual([start + 1, start + 2, start + 3, start + 4]);
      expect(await store.currentRevision()).toBe(start + 4);
      // Failed writes do not consume revisions.
      await store.create("/m/a", "dup").catch(() => {});
      await store.update("/m/a", "x", 1).catch(() => {});
      expect((await store.create("/m/c", "1")).modRevision).toBe(start + 5);
    });

    test("watch replays history from a past revision, then live, in order without gaps or duplicates", async () => {
      await store.create("/before", "x"); // so the watch below starts from a revision > 0 (0 = "now")
      const first = await store.create("/w/a", "1");
      await store.update("/w/a", "2", first.modRevision);
      await store.create("/w/b", "1");
      const { events, watch } = collect(store, "/w/", first.modRevision - 1);
      // Writes racing the replay must neither be lost nor delivered twice.
      const live = Promise.all(Array.from({ length: 20 }, (_, i) => store.create(`/w/live-${i}`, "x")));
      await live;
      await store.delete("/w/b");
      const end = await store.currentRevision();
      await until(() => events.at(-1)?.revision === end, "watch to catch up");
      const revisions = events.map((e) => e.revision);
      expect(revisions).toEqual(Array.from({ length: end - first.modRevision + 1 }, (_, i) => first.modRevision + i));
      expect(events.slice(0, 3).map((e) => e.type)).toEqual(["create", "update", "create"]);
      expect(events.at(-1)?.type).toBe("delete");
      watch.stop();
    });

    test("watch from 0 starts now; watch from the current revision sees only later writes", async () => {
      await store.create("/n/old", "x");
      const fromNow = collect(store, "/n/", 0);
      const fromCurrent = collect(store, "/n/", await store.currentRevision());
      const fresh = await store.create("/n/new", "y");
      await until(() => fromNow.events.length === 1 && fromCurrent.events.length === 1);
      expect(fromNow.events[0]!.kv).toEqual(fresh);
      expect(fromCurrent.events[0]!.kv).toEqual(fresh);
      fromNow.watch.stop();
      fromCurrent.watch.stop();
    });

    test("watch filters by prefix", async () => {
      const { events, watch } = collect(store, "/p/pods/", 0);
      await store.create("/p/pods/a", "1");
      await store.create("/p/podsx/a", "1");
      await store.create("/p/svc/a", "1");
      await store.create("/p/pods/b", "1");
      await until(() => events.length >= 2);
      await store.create("/p/pods/c", "1"); // a fence: everything before it has been delivered
      await until(() => events.length >= 3);
      expect(events.map((e) => e.kv.key)).toEqual(["/p/pods/a", "/p/pods/b", "/p/pods/c"]);
      watch.stop();
    });

    test("watch events carry previous values, live and replayed", async () => {
      await store.create("/before", "x"); // so the watch below starts from a revision > 0 (0 = "now")
      const start = await store.currentRevision();
      const live = collect(store, "/pv/", 0);
      const a = await store.create("/pv/a", "one");
      const a2 = await store.update("/pv/a", "two", a.modRevision);
      const del = await store.delete("/pv/a");
      await until(() => live.events.length === 3);
      const replayed = collect(store, "/pv/", start);
      await until(() => replayed.events.length === 3);
      for (const events of [live.events, replayed.events]) {
        expect(events[0]).toEqual({ type: "create", kv: a, revision: a.modRevision });
        expect(events[1]).toEqual({ type: "update", kv: a2, prev: a, revision: a2.modRevision });
        expect(events[2]).toEqual({ type: "delete", kv: del, prev: a2, revision: del.modRevision });
        expect(events[2]!.kv.value).toBe("two");
      }
      live.watch.stop();
      replayed.watch.stop();
    });

    test("a stopped watch receives nothing more", async () => {
      const { events, watch } = collect(store, "/s/", 0);
      await store.create("/s/a", "1");
      await until(() => events.length === 1);
      watch.stop();
      await store.create("/s/b", "1");
      const fence = collect(store, "/s/", 0);
      await store.create("/s/c", "1");
      await until(() => fence.events.length === 1);
      expect(events.length).toBe(1);
      fence.watch.stop();
    });

    test("compaction: older revisions throw CompactedError, current values intact", async () => {
      const a = await store.create("/c/a", "1");
      let rev = a.modRevision;
      for (let i = 2; i <= 10; i++) rev = (await store.update("/c/a", String(i), rev)).modRevision;
      const b = await store.create("/c/b", "b");
      const gone = await store.create("/c/gone", "g");
      await store.delete("/c/gone");
      const compactTo = await store.currentRevision();
      const c = await store.create("/c/c", "c");
      await store.compact(compactTo);

      expect(await store.compactedRevision()).toBe(compactTo);
      expect(() => store.watch("/c/", a.modRevision, () => {})).toThrow(CompactedError);
      expect(await store.get("/c/a")).toEqual({ key: "/c/a", value: "10", createRevision: a.createRevision, modRevision: rev });
      expect(await store.get("/c/b")).toEqual(b);
      expect(await store.get("/c/gone")).toBeUndefined();
      expect((await store.list("/c/")).items.map((i) => i.key)).toEqual(["/c/a", "/c/b", "/c/c"]);
      expect(gone.modRevision).toBeLessThan(compactTo);

      // Watching from the compacted revision itself still works, and updates after compaction
      // still carry the (retained) previous value.
      const { events, watch } = collect(store, "/c/", compactTo);
      const a11 = await store.update("/c/a", "11", rev);
      await until(() => events.length === 2);
      expect(events[0]!.kv).toEqual(c);
      expect(events[1]).toEqual({
        type: "update",
        kv: a11,
        prev: { key: "/c/a", value: "10", createRevision: a.createRevision, modRevision: rev },
        revision: a11.modRevision,
      });
      watch.stop();
      // Revisions keep counting after compaction.
      expect(await store.currentRevision()).toBe(a11.modRevision);
    });

    test("compaction started during a replay does not cut the replay short", async () => {
      const from = (await store.create("/cr/start", "x")).modRevision;
      let kv = await store.create("/cr/a", "0");
      for (let i = 1; i < 1200; i++) kv = await store.update("/cr/a", String(i), kv.modRevision);
      const { events, watch } = collect(store, "/cr/", from);
      await store.compact(kv.modRevision);
      await until(() => events.at(-1)?.revision === kv.modRevision, "replay to finish");
      expect(events.length).toBe(1200);
      expect(events.every((e, i) => e.revision === from + 1 + i)).toBe(true);
      expect(() => store.watch("/cr/", from, () => {})).toThrow(CompactedError);
      watch.stop();
    });

    test("compacting everything, including a tombstone at the head, keeps the revision", async () => {
      await store.create("/h/a", "1");
      const del = await store.delete("/h/a");
      await store.compact(del.modRevision);
      expect(await store.currentRevision()).toBe(del.modRevision);
      expect((await store.list("/h/")).revision).toBe(del.modRevision);
      expect((await store.create("/h/b", "1")).modRevision).toBe(del.modRevision + 1);
    });

    test("hundreds of concurrent writes get distinct revisions and are all visible", async () => {
      const n = 500;
      const created = await Promise.all(Array.from({ length: n }, (_, i) => store.create(`/cc/${String(i).padStart(4, "0")}`, `v${i}`)));
      const updated = await Promise.all(created.map((kv) => store.update(kv.key, kv.value + "!", kv.modRevision)));
      const revisions = new Set([...created, ...updated].map((kv) => kv.modRevision));
      expect(revisions.size).toBe(2 * n);
      const list = await store.list("/cc/");
      expect(list.items.length).toBe(n);
      expect(list.items.every((kv) => kv.value.endsWith("!"))).toBe(true);
      expect(Math.max(...revisions)).toBe(await store.currentRevision());
      // Racing CAS updates on one key: exactly one wins per revision.
      const base = list.items[0]!;
      const racing = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => store.update(base.key, `r${i}`, base.modRevision)));
      expect(racing.filter((r) => r.status === "fulfilled").length).toBe(1);
      expect(racing.filter((r) => r.status === "rejected").every((r) => (r as PromiseRejectedResult).reason instanceof RevisionConflictError)).toBe(true);
    });

    test("a deferred update is visible to get, list and watch at once, with a new revision", async () => {
      await store.create("/before", "x"); // so the watch below starts from a revision > 0 (0 = "now")
      const start = await store.currentRevision();
      const live = collect(store, "/df/", 0);
      const v1 = await store.create("/df/lease", "t1");
      const v2 = await store.update("/df/lease", "t2", v1.modRevision, { durable: false });
      expect(v2).toEqual({ key: "/df/lease", value: "t2", createRevision: v1.createRevision, modRevision: v1.modRevision + 1 });
      expect(await store.currentRevision()).toBe(v2.modRevision);
      expect(await store.get("/df/lease")).toEqual(v2);
      const list = await store.list("/df/");
      expect(list).toEqual({ items: [v2], revision: v2.modRevision });
      await until(() => live.events.length === 2);
      expect(live.events[1]).toEqual({ type: "update", kv: v2, prev: v1, revision: v2.modRevision });
      // Durable writes after it keep counting from its revision.
      expect((await store.create("/df/other", "o")).modRevision).toBe(v2.modRevision + 1);
      const replayed = collect(store, "/df/", start);
      await until(() => replayed.events.length === 3);
      expect(replayed.events.slice(0, 2)).toEqual(live.events.slice(0, 2));
      live.watch.stop();
      replayed.watch.stop();
    });

    test("CAS against a deferred revision: the deferred revision wins, the older one conflicts", async () => {
      const v1 = await store.create("/dc/lease", "t1");
      const v2 = await store.update("/dc/lease", "t2", v1.modRevision, { durable: false });
      const conflict = await store.update("/dc/lease", "stale", v1.modRevision, { durable: false }).catch((e) => e);
      expect(conflict).toBeInstanceOf(RevisionConflictError);
      expect((conflict as RevisionConflictError).current).toEqual(v2);
      const v3 = await store.update("/dc/lease", "t3", v2.modRevision, { durable: false });
      const v4 = await store.update("/dc/lease", "t4", v3.modRevision);
      expect(v4.modRevision).toBe(v3.modRevision + 1);
      await expect(store.delete("/dc/lease", v3.modRevision)).rejects.toBeInstanceOf(RevisionConflictError);
      // Concurrent deferred renewals from one revision: exactly one wins.
      const racing = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.update("/dc/lease", `r${i}`, v4.modRevision, { durable: false })));
      expect(racing.filter((r) => r.status === "fulfilled").length).toBe(1);
    });

    test("a durable write after deferred ones supersedes them; events chain through every revision", async () => {
      await store.create("/before", "x"); // so the watch below starts from a revision > 0 (0 = "now")
      const start = await store.currentRevision();
      let kv = await store.create("/dd/lease", "0");
      const written = [kv];
      for (let i = 1; i <= 5; i++) written.push((kv = await store.update("/dd/lease", String(i), kv.modRevision, { durable: false })));
      const durable = await store.update("/dd/lease", "holder-changed", kv.modRevision);
      written.push(durable);
      for (let i = 7; i <= 8; i++) written.push((kv = await store.update("/dd/lease", String(i), (written.at(-1) as typeof kv).modRevision, { durable: false })));
      await store.flush();
      const deleted = await store.delete("/dd/lease");
      expect(await store.get("/dd/lease")).toBeUndefined();
      expect((await store.list("/dd/")).items).toEqual([]);
      const { events, watch } = collect(store, "/dd/", start);
      await until(() => events.length === written.length + 1, "replay");
      expect(events.map((e) => e.kv.value)).toEqual([...written.map((w) => w.value), "8"]);
      expect(events.map((e) => e.revision)).toEqual([...written.map((w) => w.modRevision), deleted.modRevision]);
      for (let i = 1; i < events.length; i++) expect(events[i]!.prev).toEqual(written[i - 1]);
      expect(deleted.value).toBe("8");
      watch.stop();
    });

    test("flush keeps every value and revision; reopening after a clean close has the deferred value", async () => {
      const a = await store.create("/df2/a", "a0");
      const b = await store.create("/df2/b", "b0");
      const a1 = await store.update("/df2/a", "a1", a.modRevision, { durable: false });
      await store.flush();
      await store.flush(); // nothing held: a no-op
      const a2 = await store.update("/df2/a", "a2", a1.modRevision, { durable: false });
      const b1 = await store.update("/df2/b", "b1", b.modRevision, { durable: false });
      expect(await store.get("/df2/a")).toEqual(a2);
      expect((await store.list("/df2/")).items).toEqual([a2, b1]);
      if (!harness.persistent) return;
      const rev = await store.currentRevision();
      await store.close();
      store = await harness.open();
      // A clean close flushed everything: the same values, revisions, and the counter goes on without a gap.
      expect(await store.currentRevision()).toBe(rev);
      expect((await store.list("/df2/")).items).toEqual([a2, b1]);
      expect((await store.update("/df2/a", "a3", a2.modRevision, { durable: false })).modRevision).toBe(rev + 1);
    });

    test("rewriteValues rewrites current values and history in place: same revisions, no events", async () => {
      expect(store.rewriteValues).toBeDefined();
      await store.create("/before", "x"); // so the replay below starts from a revision > 0 (0 = "now")
      const start = await store.currentRevision();
      const a1 = await store.create("/rw/s/a", "a1");
      const a2 = await store.update("/rw/s/a", "a2", a1.modRevision);
      const b = await store.create("/rw/s/b", "b1");
      const bGone = await store.delete("/rw/s/b");
      const other = await store.create("/rw/other", "c1");
      const rev = await store.currentRevision();
      const live = collect(store, "/rw/", 0);
      const seal = (_key: string, value: string) => (value.startsWith("sealed:") ? undefined : `sealed:${value}`);
      expect(await store.rewriteValues!("/rw/s/", seal)).toBe(3); // a@1, a@2, b@3; the tombstone has no value
      expect(await store.rewriteValues!("/rw/s/", seal)).toBe(0);
      expect(await store.currentRevision()).toBe(rev);
      expect(await store.get("/rw/s/a")).toEqual({ ...a2, value: "sealed:a2" });
      expect(await store.get("/rw/other")).toEqual(other);
      expect((await store.list("/rw/s/")).items).toEqual([{ ...a2, value: "sealed:a2" }]);
      const replayed = collect(store, "/rw/", start);
      await until(() => replayed.events.length === 5);
      const sealed = (kv: typeof a1) => ({ ...kv, value: `sealed:${kv.value}` });
      expect(replayed.events).toEqual([
        { type: "create", kv: sealed(a1), revision: a1.modRevision },
        { type: "update", kv: sealed(a2), prev: sealed(a1), revision: a2.modRevision },
        { type: "create", kv: sealed(b), revision: b.modRevision },
        { type: "delete", kv: sealed(bGone), prev: sealed(b), revision: bGone.modRevision },
        { type: "create", kv: other, revision: other.modRevision },
      ]);
      expect(live.events).toEqual([]);
      live.watch.stop();
      replayed.watch.stop();
      // Writes go on from the same revision.
      expect((await store.update("/rw/s/a", "a3", a2.modRevision)).modRevision).toBe(rev + 1);
    });

    test("reopen keeps data, history and the revision counter", async () => {
      if (!harness.persistent) return;
      await store.create("/before", "x"); // so the watch below starts from a revision > 0 (0 = "now")
      const a = await store.create("/re/a", "1");
      const a2 = await store.update("/re/a", "2", a.modRevision);
      await store.create("/re/b", "b");
      await store.delete("/re/b");
      const rev = await store.currentRevision();
      await store.close();
      store = await harness.open();
      expect(await store.currentRevision()).toBe(rev);
      expect(await store.get("/re/a")).toEqual(a2);
      expect(await store.get("/re/b")).toBeUndefined();
      await expect(store.create("/re/a", "x")).rejects.toBeInstanceOf(KeyExistsError);
      expect((await store.update("/re/a", "3", a2.modRevision)).modRevision).toBe(rev + 1);
      const { events, watch } = collect(store, "/re/", a.modRevision - 1);
      await until(() => events.length === 5);
      expect(events.map((e) => e.type)).toEqual(["create", "update", "create", "delete", "update"]);
      watch.stop();
    });
  });
}
