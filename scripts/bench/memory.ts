// Server memory and idle disk writes, from Linux's own accounting of the real `bramble server`
// process (libSQL file store):
//   - RSS (VmRSS in /proc/<pid>/status) idle right after start, and after creating 10,000 objects
//     (5,000 ConfigMaps with a few keys, 5,000 Pods with one container, over 10 namespaces) and a
//     settle period in which the server is left alone so its GC and allocator can give memory back;
//   - bytes written to storage (write_bytes in /proc/<pid>/io) by the idle server over a window,
//     extrapolated to an hour: once right after start, once after the 10,000 objects.
// Same-run baseline: the RSS of a bare `bun -e 'setInterval(() => {}, 1000)'`.
// The settle period (default 45 s) outlasts the store's compaction (30 s) and checkpoint (10 s)
// timers, so the second idle window sees the steady state, not the upkeep the burst left behind.
//   bun scripts/bench/memory.ts [--objects 10000] [--idle-s 60] [--settle-s 45] [--bun-flags=--smol]
//                               [--binary dist/bramble]   (the compiled binary instead of bun src/main.ts)
import { spawn } from "bun";
import { statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { apiClient, runLoad } from "./lib/load.ts";
import { cpuModel, ioOf, mb, memoryOf, rssByMapping, sourceVersion } from "./lib/proc.ts";
import { startBenchServer, type BenchServer } from "./lib/server.ts";
import { met, printTable } from "./lib/table.ts";
import { benchConfigMap, benchPod } from "./lib/objects.ts";

const { values: args } = parseArgs({
  options: {
    objects: { type: "string", default: "10000" },
    "idle-s": { type: "string", default: "60" },
    "settle-s": { type: "string", default: "45" },
    "bun-flags": { type: "string", default: "" },
    binary: { type: "string" },
  },
});
const OBJECTS = Number(args.objects);
const IDLE_MS = Number(args["idle-s"]) * 1000;
const SETTLE_MS = Number(args["settle-s"]) * 1000;
const BUN_FLAGS = args["bun-flags"] ? args["bun-flags"].split(/\s+/) : [];
const NAMESPACES = 10;
const RSS_TARGET = 100 * 1024 * 1024;
const IDLE_WRITE_TARGET_PER_HOUR = 1024 * 1024;

/** The bare-runtime baseline: an idle Bun process that does nothing. */
async function bareBunRss(): Promise<number> {
  const proc = spawn({ cmd: [process.execPath, ...BUN_FLAGS, "-e", "setInterval(() => {}, 1000)"], stdout: "ignore", stderr: "ignore" });
  await Bun.sleep(2000);
  const rss = memoryOf(proc.pid).rss;
  proc.kill();
  await proc.exited;
  return rss;
}

/** Leaves the server alone for `ms`, sampling RSS each second; returns the last sample and the lowest. */
async function settle(server: BenchServer, ms: number) {
  let min = Infinity;
  let last = 0;
  for (let t = 0; t < ms; t += 1000) {
    await Bun.sleep(1000);
    last = memoryOf(server.pid).rss;
    min = Math.min(min, last);
  }
  return { last, min };
}

/** write_bytes and wchar of the idle server over IDLE_MS. */
async function idleWrites(server: BenchServer) {
  const before = ioOf(server.pid);
  await Bun.sleep(IDLE_MS);
  const after = ioOf(server.pid);
  return { writeBytes: after.writeBytes - before.writeBytes, wchar: after.wchar - before.wchar, syscw: after.syscw - before.syscw };
}

async function createObjects(server: BenchServer) {
  const api = apiClient(server);
  for (let n = 0; n < NAMESPACES; n++) {
    const res = await api.post("/api/v1/namespaces", { metadata: { name: `bench-${n}` } });
    if (res.status !== 201) throw new Error(`namespace: ${res.status} ${await res.text()}`);
  }
  const r = await runLoad({
    name: "create",
    clients: 32,
    maxRequests: OBJECTS,
    expect: 201,
    request: (_, i) => {
      const ns = `bench-${i % NAMESPACES}`;
      return i % 2 === 0
        ? api.post(`/api/v1/namespaces/${ns}/configmaps`, benchConfigMap(`cm-${i}`, i))
        : api.post(`/api/v1/namespaces/${ns}/pods`, benchPod(`pod-${i}`, i));
    },
  });
  if (r.errors) throw new Error(`${r.errors} of ${OBJECTS} creates failed; first: ${r.firstError}`);
  return r;
}

const dbSize = (server: BenchServer) =>
  ["state.db", "state.db-wal"].reduce((n, f) => n + (statSync(join(server.dataDir, "server", f), { throwIfNoEntry: false })?.size ?? 0), 0);

const baselineRss = await bareBunRss();
const server = await startBenchServer({ bunFlags: BUN_FLAGS, binary: args.binary });
try {
  // "Idle right after start": once start-up work (migrations, bootstrap objects, first checkpoint) is over.
  const startIdle = await settle(server, 12_000);
  const idleFresh = await idleWrites(server);
  const rssIdle = memoryOf(server.pid).rss;
  const idleWhere = rssByMapping(server.pid).slice(0, 5).map((m) => `${m.name} ${mb(m.rss)}`).join(", ");

  const load = await createObjects(server);
  const rssAfterLoad = memoryOf(server.pid).rss;
  const settled = await settle(server, SETTLE_MS);
  const idleLoaded = await idleWrites(server);
  const mem = memoryOf(server.pid);
  const rssFinal = mem.rss;

  const flags = args.binary ? ` (compiled binary ${args.binary})` : BUN_FLAGS.length ? ` (bun ${BUN_FLAGS.join(" ")} src/main.ts)` : " (bun src/main.ts)";
  console.log(`\nbramble server memory and idle writes${flags} — ${new Date().toISOString()}, ${cpuModel()}, ${navigator.hardwareConcurrency} cores, Bun ${Bun.version}, bramble ${sourceVersion()}`);
  console.log(`${OBJECTS} objects: ${OBJECTS / 2} ConfigMaps (3 keys) + ${OBJECTS / 2} Pods (1 container) in ${NAMESPACES} namespaces, created at ${load.rate.toFixed(0)}/s by 32 clients; server start attempts: ${server.attempts}\n`);
  printTable(
    ["process / moment", "RSS MB", "× bare bun", "target", "result"],
    [
      ["bare bun -e setInterval (baseline)", mb(baselineRss), "1.00", "-", "-"],
      ["server, idle after start", mb(startIdle.last), (startIdle.last / baselineRss).toFixed(2), "-", "-"],
      [`server, right after ${OBJECTS} creates`, mb(rssAfterLoad), (rssAfterLoad / baselineRss).toFixed(2), "-", "-"],
      [`server, ${OBJECTS} objects, after ${SETTLE_MS / 1000} s settle`, mb(settled.last), (settled.last / baselineRss).toFixed(2), "≤ 100 MB", met(settled.last <= RSS_TARGET)],
      [`server, ${OBJECTS} objects, after ${(SETTLE_MS + IDLE_MS) / 1000} s idle`, mb(rssFinal), (rssFinal / baselineRss).toFixed(2), "≤ 100 MB", met(rssFinal <= RSS_TARGET)],
    ],
  );
  console.log(`largest RSS by mapping when idle after start (MB): ${idleWhere}`);
  console.log(`peak RSS (VmHWM) ${mb(mem.hwm)} MB; at the end RssAnon ${mb(mem.anon)} MB, RssFile ${mb(mem.file)} MB`);
  const where = rssByMapping(server.pid).slice(0, 5).map((m) => `${m.name} ${mb(m.rss)}`).join(", ");
  console.log(`largest RSS by mapping at the end (MB): ${where}`);
  console.log(`per object: ${(((rssFinal - rssIdle) / OBJECTS) / 1024).toFixed(1)} KB of RSS; database + WAL on disk: ${mb(dbSize(server))} MB\n`);

  const perHour = (bytes: number) => (bytes * 3_600_000) / IDLE_MS;
  const row = (label: string, w: { writeBytes: number; wchar: number; syscw: number }) => [
    label,
    (w.writeBytes / 1024).toFixed(1),
    (perHour(w.writeBytes) / 1024 / 1024).toFixed(2),
    (w.wchar / 1024).toFixed(1),
    w.syscw,
    "≤ 1 MB/h",
    met(perHour(w.writeBytes) <= IDLE_WRITE_TARGET_PER_HOUR),
  ];
  console.log(`idle disk writes over ${IDLE_MS / 1000} s (write_bytes = bytes sent to storage; wchar/syscw = all write() calls, any fd)`);
  printTable(
    ["server state", "write_bytes KB", "→ MB/hour", "wchar KB", "write calls", "target", "result"],
    [row("idle after start", idleFresh), row(`idle with ${OBJECTS} objects`, idleLoaded)],
  );
  const ok = rssFinal <= RSS_TARGET && perHour(idleFresh.writeBytes) <= IDLE_WRITE_TARGET_PER_HOUR && perHour(idleLoaded.writeBytes) <= IDLE_WRITE_TARGET_PER_HOUR;
  process.exitCode = ok ? 0 : 1;
} catch (e) {
  console.error(e);
  console.error(`server log tail:\n${server.log().slice(-3000)}`);
  process.exitCode = 2;
} finally {
  await server.stop();
}
