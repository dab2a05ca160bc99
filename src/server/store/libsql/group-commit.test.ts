import { afterEach, expect, test } from "bun:test";
import type { Client } from "@libsql/client";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "../contract.ts";
import type { WatchEvent } from "../store.ts";
import { openLibsqlStore } from "./open.ts";

let dir: string;

/** Calls hook before each write the store sends to its connection (execute or batch); returns an undo. */
function onWrite(store: object, hook: () => void): () => void {
  const client = (store as { client: Client }).client;
  const { execute, batch } = client;
  const isWrite = (stmt: unknown) => /^\s*(INSERT|DELETE|UPDATE)/i.test(typeof stmt === "string" ? stmt : (stmt as { sql: string }).sql);
  client.execute = ((stmt: Parameters<Client["execute"]>[0], ...rest: unknown[]) => {
    if (isWrite(stmt)) hook();
    return (execute as (...a: unknown[]) => unknown).call(client, stmt, ...rest);
  }) as Client["execute"];
  client.batch = ((stmts: Parameters<Client["batch"]>[0], ...rest: unknown[]) => {
    if (stmts.some(isWrite)) hook();
    return (batch as (...a: unknown[]) => unknown).call(client, stmts, ...rest);
  }) as Client["batch"];
  return () => {
    client.execute = execute;
    client.batch = batch;
  };
}
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("a failed group commit fails every write in it and leaves no trace", async () => {
  dir = await mkdtemp(join(tmpdir(), "bramble-gc-"));
  const store = await openLibsqlStore(join(dir, "state.db"), { compactIntervalMs: 0, checkpointIntervalMs: 0 });
  const a = await store.create("/f/a", "1");
  const events: WatchEvent[] = [];
  store.watch("/f/", 0, (e) => events.push(e));

  // The store's one connection; make its next write fail as a full disk would.
  const restore = onWrite(store, () => {
    restore();
    throw new Error("disk I/O error");
  });

  const results = await Promise.allSettled([store.create("/f/b", "1"), store.update("/f/a", "2", a.modRevision), store.delete("/f/a")]);
  expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);

  // Index and revision counter are back at the last commit: the same writes now succeed,
  // with the revisions the failed ones would have had.
  expect(await store.currentRevision()).toBe(a.modRevision);
  const b = await store.create("/f/b", "1");
  const a2 = await store.update("/f/a", "2", a.modRevision);
  expect([b.modRevision, a2.modRevision]).toEqual([a.modRevision + 1, a.modRevision + 2]);
  await until(() => events.length === 2);
  expect(events.map((e) => e.revision)).toEqual([b.modRevision, a2.modRevision]);
  await store.close();
});

test("concurrent writers share commits: many writes, few transactions", async () => {
  dir = await mkdtemp(join(tmpdir(), "bramble-gc-"));
  const store = await openLibsqlStore(join(dir, "state.db"), { compactIntervalMs: 0, checkpointIntervalMs: 0 });
  let transactions = 0;
  onWrite(store, () => transactions++);
  await Promise.all(Array.from({ length: 200 }, (_, i) => store.create(`/g/${i}`, "x")));
  expect(transactions).toBeLessThan(10);
  await store.close();
});
