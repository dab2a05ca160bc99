import { expect, test } from "bun:test";
import { MemoryStore } from "../store/memory/memory-store";
import { RevisionConflictError, type WatchEvent } from "../store/index";
import { EncryptingStore } from "./encrypting-store";
import { Keyring } from "./keyring";

const secretKey = "/registry/core/secrets/default/db";
const setup = () => {
  const inner = new MemoryStore();
  const keys = new Keyring([{ name: "k1", secret: new Uint8Array(32).fill(3) }]);
  return { inner, store: new EncryptingStore(inner, keys), keys };
};

test("Secrets are sealed below and plain above: get, list, create, update, delete, conflicts", async () => {
  const { inner, store } = setup();
  const created = await store.create(secretKey, "one");
  expect(created.value).toBe("one");
  expect((await inner.get(secretKey))!.value).toStartWith("k8s:enc:aesgcm:v1:k1:");
  expect(await store.get(secretKey)).toEqual(created);
  const cm = await store.create("/registry/core/configmaps/default/c", "plain");
  expect((await inner.get(cm.key))!.value).toBe("plain");
  expect((await store.list("/registry/core/")).items.map((kv) => kv.value)).toEqual(["plain", "one"]);
  const updated = await store.update(secretKey, "two", created.modRevision);
  const conflict = await store.update(secretKey, "three", created.modRevision).catch((e) => e);
  expect(conflict).toBeInstanceOf(RevisionConflictError);
  expect((conflict as RevisionConflictError).current.value).toBe("two");
  expect((await store.delete(secretKey)).value).toBe("two");
  expect(updated.value).toBe("two");
});

test("watch events, live and replayed, carry plain values and prev values", async () => {
  const { store } = setup();
  await store.create("/before", "x");
  const start = await store.currentRevision();
  const live: WatchEvent[] = [];
  const w = store.watch("/registry/", 0, (e) => live.push(e));
  const a = await store.create(secretKey, "one");
  await store.update(secretKey, "two", a.modRevision);
  await store.delete(secretKey);
  const replayed: WatchEvent[] = [];
  const r = store.watch("/registry/", start, (e) => replayed.push(e));
  while (replayed.length < 3) await Bun.sleep(1);
  for (const events of [live, replayed]) {
    expect(events.map((e) => [e.type, e.kv.value, e.prev?.value])).toEqual([
      ["create", "one", undefined],
      ["update", "two", "one"],
      ["delete", "two", "two"],
    ]);
  }
  w.stop();
  r.stop();
});

test("a key retired from the file still opens values sealed with it in this process", async () => {
  const { inner, store, keys } = setup();
  await store.create(secretKey, "old");
  keys.use([{ name: "k2", secret: new Uint8Array(32).fill(4) }]);
  expect((await store.get(secretKey))!.value).toBe("old");
  await store.create(`${secretKey}2`, "new");
  expect((await inner.get(`${secretKey}2`))!.value).toStartWith("k8s:enc:aesgcm:v1:k2:");
});
