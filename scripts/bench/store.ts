// Store write throughput: the Store interface (group commit) with 1 and 64 concurrent writers,
// against a same-run baseline of raw single-row autocommit INSERTs into a libSQL file.
// Each run is bounded by time, so the whole bench takes a few seconds.
//   bun scripts/bench/store.ts [--ms 1500] [--synchronous full|normal]
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createClient } from "@libsql/client";
import { openStore, type Store } from "../../src/server/store/index.ts";
import { applyMigrations } from "../../src/server/store/libsql/migrate.ts";

const { values: args } = parseArgs({
  options: { ms: { type: "string", default: "1500" }, synchronous: { type: "string", default: "full" } },
});
const RUN_MS = Number(args.ms);
const SYNCHRONOUS = args.synchronous === "normal" ? "normal" : "full";
const VALUE = JSON.stringify({ kind: "Pod", metadata: { name: "x".repeat(40), labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "busybox" }] } });

interface Result {
  name: string;
  writes: number;
  ms: number;
  latencies: number[];
}

const dir = await mkdtemp(join(tmpdir(), "bramble-bench-store-"));
let dbCount = 0;
const nextPath = () => join(dir, `bench-${dbCount++}.db`);

/** Runs `writers` loops until the deadline; each loop awaits one write at a time. */
async function drive(name: string, writers: number, write: (writer: number, i: number) => Promise<unknown>): Promise<Result> {
  const latencies: number[] = [];
  let writes = 0;
  const start = performance.now();
  const deadline = start + RUN_MS;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const t = performance.now();
        await write(w, i);
        latencies.push(performance.now() - t);
        writes++;
      }
    }),
  );
  return { name, writes, ms: performance.now() - start, latencies };
}

async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(`file:${nextPath()}`, {
    synchronous: SYNCHRONOUS,
    // Maintenance on and frequent, so its cost is part of what is measured.
    compactIntervalMs: 500,
    checkpointIntervalMs: 500,
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const benchCreates = (writers: number) =>
  withStore((store) => drive(`store create, ${writers} writer(s)`, writers, (w, i) => store.create(`/registry/pods/ns/w${w}-${i}`, VALUE)));

const benchUpdates = (writers: number, keysPerWriter = 16) =>
  withStore(async (store) => {
    const revisions: number[][] = [];
    for (let w = 0; w < writers; w++) {
      revisions.push(await Promise.all(Array.from({ length: keysPerWriter }, async (_, k) => (await store.create(`/registry/pods/ns/w${w}-${k}`, VALUE)).modRevision)));
    }
    return drive(`store update, ${writers} writer(s)`, writers, async (w, i) => {
      const k = i % keysPerWriter;
      revisions[w]![k] = (await store.update(`/registry/pods/ns/w${w}-${k}`, VALUE, revisions[w]![k]!)).modRevision;
    });
  });

/** The baseline: what one autocommit INSERT per write costs on the same disk, same pragmas. */
async function benchRawInserts(): Promise<Result> {
  const client = createClient({ url: `file:${nextPath()}`, concurrency: 1 });
  await client.execute("PRAGMA journal_mode = WAL");
  await client.execute(`PRAGMA synchronous = ${SYNCHRONOUS.toUpperCase()}`);
  await applyMigrations(client); // the store's own table and index, so only the write path differs
  let revision = 0;
  const result = await drive("raw autocommit INSERT, 1 writer", 1, () => {
    revision++;
    return client.execute({
      sql: "INSERT INTO kv (revision, key, value, create_revision, prev_revision, deleted) VALUES (?, ?, ?, ?, 0, 0)",
      args: [revision, `/registry/pods/ns/raw-${revision}`, VALUE, revision],
    });
  });
  client.close();
  return result;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

try {
  const baseline = await benchRawInserts();
  const results = [baseline, await benchCreates(1), await benchUpdates(1), await benchCreates(64), await benchUpdates(64)];
  const baseRate = (baseline.writes / baseline.ms) * 1000;
  console.log(`store write throughput (synchronous=${SYNCHRONOUS}, ${RUN_MS} ms per run, value ${VALUE.length} B)\n`);
  console.log(["scenario".padEnd(34), "writes/s".padStart(10), "× baseline".padStart(11), "p50 ms".padStart(8), "p99 ms".padStart(8), "max ms".padStart(8)].join(" "));
  for (const r of results) {
    const rate = (r.writes / r.ms) * 1000;
    const sorted = r.latencies.sort((a, b) => a - b);
    console.log(
      [
        r.name.padEnd(34),
        rate.toFixed(0).padStart(10),
        (rate / baseRate).toFixed(2).padStart(11),
        percentile(sorted, 0.5).toFixed(2).padStart(8),
        percentile(sorted, 0.99).toFixed(2).padStart(8),
        (sorted.at(-1) ?? 0).toFixed(2).padStart(8),
      ].join(" "),
    );
  }
  const wal = await stat(join(dir, `bench-${dbCount - 1}.db-wal`)).catch(() => undefined);
  console.log(`\nWAL after the last run: ${wal ? (wal.size / 1024 / 1024).toFixed(1) + " MB" : "none"}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
