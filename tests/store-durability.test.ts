// The libSQL store's promises about the disk, checked across a real process boundary:
// an acknowledged write survives kill -9, and the WAL and database stay bounded under churn.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openLibsqlStore } from "../src/server/store/libsql/open.ts";

const STORE_MODULE = resolve(import.meta.dir, "../src/server/store/index.ts");
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "bramble-durability-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A writer process: 16 concurrent loops of CAS updates, printing each acknowledged write. */
const writerSource = (dbPath: string) => `
import { openStore } from ${JSON.stringify(STORE_MODULE)};
const store = await openStore(${JSON.stringify(`file:${dbPath}`)});
await Promise.all(Array.from({ length: 16 }, async (_, w) => {
  const key = "/durable/" + w;
  let rev = (await store.create(key, "0")).modRevision;
  console.log("ack", key, rev, "0");
  for (let i = 1; ; i++) {
    rev = (await store.update(key, String(i), rev)).modRevision;
    console.log("ack", key, rev, String(i));
  }
}));
`;

test("every acknowledged write survives kill -9 of the writer", async () => {
  const dbPath = join(dir, "data", "state.db");
  const script = join(dir, "writer.ts");
  await Bun.write(script, writerSource(dbPath));
  const child = Bun.spawn(["bun", script], { stdout: "pipe", stderr: "inherit" });

  const lastAck = new Map<string, { revision: number; value: string }>();
  let acks = 0;
  let pending = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      const [tag, key, revision, value] = line.split(" ");
      if (tag !== "ack") continue;
      lastAck.set(key!, { revision: Number(revision), value: value! });
      acks++;
    }
    // Mid-stream: the writer is busy with a full queue of writes in flight.
    if (acks >= 3000) {
      child.kill("SIGKILL");
      break;
    }
  }
  expect(await child.exited).not.toBe(0);
  expect(child.signalCode).toBe("SIGKILL");

  const store = await openLibsqlStore(dbPath, { compactIntervalMs: 0, checkpointIntervalMs: 0 });
  try {
    const maxAcked = Math.max(...[...lastAck.values()].map((a) => a.revision));
    expect(await store.currentRevision()).toBeGreaterThanOrEqual(maxAcked);
    for (const [key, acked] of lastAck) {
      const stored = await store.get(key);
      expect(stored).toBeDefined();
      // The acknowledged write is there, or a later one that committed before the kill.
      expect(stored!.modRevision).toBeGreaterThanOrEqual(acked.revision);
      if (stored!.modRevision === acked.revision) expect(stored!.value).toBe(acked.value);
      else expect(Number(stored!.value)).toBeGreaterThan(Number(acked.value));
    }
    // The reopened store keeps counting from where the killed one stopped.
    const next = await store.create("/durable/after-restart", "x");
    expect(next.modRevision).toBe((await store.currentRevision()));
    expect(next.modRevision).toBeGreaterThan(maxAcked);
  } finally {
    await store.close();
  }
});

test("WAL and database stay bounded under churn with compaction and checkpoints", async () => {
  const dbPath = join(dir, "state.db");
  const size = async (path: string) => (await stat(path).catch(() => undefined))?.size ?? 0;
  // Timers off: the test runs maintenance between rounds, so the sizes it checks are deterministic.
  const store = await openLibsqlStore(dbPath, { retainRevisions: 1000, compactIntervalMs: 0, checkpointIntervalMs: 0 });
  const value = JSON.stringify({ spec: { pad: "x".repeat(400) } });
  const keys = Array.from({ length: 50 }, (_, i) => `/churn/${i}`);
  const revisions = await Promise.all(keys.map(async (k) => (await store.create(k, value)).modRevision));

  const MB = 1024 * 1024;
  const dbSizes: number[] = [];
  for (let round = 0; round < 10; round++) {
    // 2,000 updates per round, 40 per key, all 50 keys written concurrently.
    await Promise.all(
      keys.map(async (k, i) => {
        for (let n = 0; n < 40; n++) revisions[i] = (await store.update(k, value, revisions[i]!)).modRevision;
      }),
    );
    // SQLite's auto-checkpoint alone keeps the WAL near 1000 pages (~4 MB) while writing.
    expect(await size(`${dbPath}-wal`)).toBeLessThan(8 * MB);
    await store.maintenance.compactOldHistory();
    await store.maintenance.checkpointIfWritten();
    expect(await size(`${dbPath}-wal`)).toBe(0);
    dbSizes.push(await size(dbPath));
  }
  expect(await store.currentRevision()).toBe(50 + 20_000);
  // 1,000 retained revisions + 50 live rows of ~450 B, plus the pages freed by each
  // compaction that the next round reuses: a couple of MB at most, and flat after warm-up.
  expect(dbSizes.at(-1)!).toBeLessThan(3 * MB);
  expect(dbSizes.at(-1)!).toBeLessThanOrEqual(dbSizes[2]! * 1.25);
  // Current values are intact after all that compaction.
  const list = await store.list("/churn/");
  expect(list.items.map((kv) => kv.modRevision).sort()).toEqual([...revisions].sort());
  await store.close();
});
