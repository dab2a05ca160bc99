// What a backup costs the writers: a libSQL store with --objects pod-sized objects, 16 concurrent
// writers, and their write latency in three windows of the same run: no backup; while
// `bramble backup` runs as its own process (the CLI, and the scheduled snapshots, which the server
// hands to such a process); while the copy runs inside the writers' process instead (why it is
// not done that way: libSQL runs the copy on the calling thread). Also the backup's own time and
// the snapshot's size.
//   bun scripts/bench/backup.ts [--objects 10000] [--writers 16]
import { mkdtemp, rm } from "node:fs/promises";
import { statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { openStore, type Store } from "../../src/server/store/index.ts";
import { takeSnapshot } from "../../src/server/store/libsql/snapshot.ts";
import { percentile, printTable } from "./lib/table.ts";

const { values: args } = parseArgs({ options: { objects: { type: "string", default: "10000" }, writers: { type: "string", default: "16" } } });
const OBJECTS = Number(args.objects);
const WRITERS = Number(args.writers);
const MAIN = resolve(import.meta.dir, "../../src/main.ts");
const pod = (name: string) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: crypto.randomUUID(), labels: { app: "web", tier: "frontend" } },
    spec: { nodeName: "pi-1", containers: [{ name: "web", image: "nginx:1.27", ports: [{ containerPort: 80 }], resources: { requests: { cpu: "100m", memory: "64Mi" } } }] },
    status: { phase: "Running", podIP: "10.42.0.12", conditions: [{ type: "Ready", status: "True" }] },
  });

const dir = await mkdtemp(join(tmpdir(), "bramble-bench-backup-"));
const dbPath = join(dir, "state.db");
const store: Store = await openStore(`file:${dbPath}`);

const fillStart = performance.now();
for (let i = 0; i < OBJECTS; i += 500) {
  await Promise.all(Array.from({ length: Math.min(500, OBJECTS - i) }, (_, j) => store.create(`/registry/pods/default/p-${i + j}`, pod(`p-${i + j}`))));
}
console.log(`filled ${OBJECTS} objects in ${Math.round(performance.now() - fillStart)} ms`);

/** Writers run until `during` settles (at least minMs); returns their latencies. */
let round = 0;
async function measure(during: () => Promise<unknown>, minMs = 1000): Promise<number[]> {
  const latencies: number[] = [];
  let done = false;
  let n = 0;
  const r = round++;
  const writers = Array.from({ length: WRITERS }, async (_, w) => {
    let kv = await store.create(`/registry/configmaps/default/bench-${r}-${w}`, "{}");
    while (!done) {
      const t = performance.now();
      kv = await store.update(kv.key, JSON.stringify({ n: n++ }), kv.modRevision);
      latencies.push(performance.now() - t);
    }
  });
  await Promise.all([during(), Bun.sleep(minMs)]);
  done = true;
  await Promise.all(writers);
  return latencies.sort((a, b) => a - b);
}

const rows: (string | number)[][] = [];
const row = (name: string, l: number[], extra = "") => rows.push([name, l.length, percentile(l, 0.5).toFixed(2), percentile(l, 0.99).toFixed(2), (l.at(-1) ?? 0).toFixed(2), extra]);

row("no backup", await measure(async () => {}));

let cliOut = "";
const cliFile = join(dir, "cli.snapshot");
row(
  "during `bramble backup` (own process)",
  await measure(async () => {
    const p = Bun.spawn(["bun", MAIN, "backup", cliFile, "--datastore-endpoint", `file:${dbPath}`], { stdout: "pipe", stderr: "inherit" });
    cliOut = await new Response(p.stdout).text();
    if ((await p.exited) !== 0) throw new Error("bramble backup failed");
  }),
  /\((.*)\)/.exec(cliOut)?.[1] ?? "",
);

let inProcess = "";
row(
  "during an in-process copy (for comparison)",
  await measure(async () => {
    await Bun.sleep(200);
    const t = performance.now();
    const info = await takeSnapshot(dbPath, join(dir, "scheduled.snapshot"));
    inProcess = `${Math.round(performance.now() - t)} ms, ${(info.bytes / 1024 / 1024).toFixed(1)} MB`;
  }),
  inProcess,
);

printTable([`${WRITERS} writers, ${OBJECTS} objects`, "writes", "p50 ms", "p99 ms", "max ms", "backup"], rows);
console.log(`db ${(statSync(dbPath).size / 1024 / 1024).toFixed(1)} MB, snapshot ${(statSync(cliFile).size / 1024 / 1024).toFixed(1)} MB`);
await store.close();
await rm(dir, { recursive: true, force: true });
