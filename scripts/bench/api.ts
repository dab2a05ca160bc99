// API server throughput over HTTPS against the real `bramble server` process (libSQL file store):
//   (a) ConfigMap creates/s and (b) gets/s with 64 concurrent keep-alive clients,
//   (c) watch fan-out: 100 watchers on configmaps, then 5,000 writes; every watcher must see every
//       event, in commit order.
// Same-run baselines: GET /healthz at the same concurrency (the HTTPS + routing floor), the raw
// Store create rate in-process (the datastore ceiling), and the same 5,000 writes with no watchers.
//
// The load generator is this process; the server is a child process. By default both float over
// the machine's cores (2 on the bench machines), so the client's CPU competes with the server's.
// --pin puts the server on CPU 0 and this process on CPU 1, i.e. "the server gets one core".
//   bun scripts/bench/api.ts [--ms 5000] [--clients 64] [--watchers 100] [--writes 5000] [--pin]
//                            [--phases requests,watch] [--server-bun-flags="--cpu-prof --cpu-prof-dir=/tmp/prof"]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openStore } from "../../src/server/store/index.ts";
import { apiClient, runLoad, type LoadResult } from "./lib/load.ts";
import { cpuMsOf, cpuModel, establishedConnections, machineBusyMs, pinProcess, sourceVersion } from "./lib/proc.ts";
import { startBenchServer, type BenchServer } from "./lib/server.ts";
import { met, percentile, printTable } from "./lib/table.ts";
import { openWatch, type BenchWatcher } from "./lib/watch.ts";

const { values: args } = parseArgs({
  options: {
    ms: { type: "string", default: "5000" },
    clients: { type: "string", default: "64" },
    watchers: { type: "string", default: "100" },
    writes: { type: "string", default: "5000" },
    pin: { type: "boolean", default: false },
    phases: { type: "string", default: "requests,watch" },
    "server-bun-flags": { type: "string", default: "" },
  },
});
const RUN_MS = Number(args.ms);
const CLIENTS = Number(args.clients);
const WATCHERS = Number(args.watchers);
const WATCH_WRITES = Number(args.writes);
const CREATE_TARGET = 5_000;
const WATCH_TIMEOUT_MS = 120_000;

const configMap = (name: string) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, labels: { app: "bench", tier: "web" } },
  data: { "app.properties": "color=blue\nmode=fast\n", "log.level": "info", greeting: "hello from bramble" },
});

/** A load phase, with the server's CPU use over it (ms of CPU per ms of wall time). */
async function measured(server: BenchServer, run: () => Promise<LoadResult>) {
  const cpu0 = cpuMsOf(server.pid);
  const self0 = process.cpuUsage();
  const machine0 = machineBusyMs();
  let connections = 0;
  const sampler = setInterval(() => (connections = Math.max(connections, establishedConnections(server.port))), 250);
  const r = await run();
  clearInterval(sampler);
  const self = process.cpuUsage(self0);
  const serverMs = cpuMsOf(server.pid) - cpu0;
  const clientMs = (self.user + self.system) / 1000;
  // Whatever else ran on the machine meanwhile (other people's tests share these cores).
  const otherMs = Math.max(0, machineBusyMs() - machine0 - serverMs - clientMs);
  return { ...r, serverCpu: serverMs / r.ms, clientCpu: clientMs / r.ms, otherCpu: otherMs / r.ms, connections };
}

/** The datastore ceiling: Store.create with the same concurrency, in this process, no HTTP. */
async function storeBaseline(): Promise<LoadResult & { serverCpu: number; clientCpu: number; otherCpu: number; connections: number }> {
  const dir = await mkdtemp(join(tmpdir(), "bramble-bench-api-store-"));
  const store = await openStore(`file:${join(dir, "state.db")}`);
  const value = JSON.stringify(configMap("x".repeat(12)));
  const self0 = process.cpuUsage();
  const machine0 = machineBusyMs();
  try {
    const r = await runLoad({
      name: "Store.create in-process (datastore ceiling)",
      clients: CLIENTS,
      durationMs: RUN_MS,
      expect: 200,
      request: async (_, i) => {
        await store.create(`/registry/core/configmaps/default/s-${i}`, value);
        return new Response(null, { status: 200 });
      },
    });
    const self = process.cpuUsage(self0);
    const clientMs = (self.user + self.system) / 1000;
    const otherMs = Math.max(0, machineBusyMs() - machine0 - clientMs); // the idle server included
    return { ...r, serverCpu: NaN, clientCpu: clientMs / r.ms, otherCpu: otherMs / r.ms, connections: 0 };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

interface FanOut {
  writeMs: number;
  deliveryMs: number;
  tailMs: number;
  delivered: number;
  lagP50: number;
  lagP99: number;
  lagMax: number;
  failures: string[];
  serverCpu: number;
  clientCpu: number;
  otherCpu: number;
}

async function createNamespace(api: ReturnType<typeof apiClient>, name: string) {
  const res = await api.post("/api/v1/namespaces", { metadata: { name } });
  if (res.status !== 201) throw new Error(`creating namespace ${name}: ${res.status} ${await res.text()}`);
}

/** WATCH_WRITES creates into `ns` with CLIENTS writers; returns when each name was sent and its resourceVersion. */
async function writeBurst(api: ReturnType<typeof apiClient>, ns: string) {
  const sentAt = new Map<string, number>();
  const rvOf = new Map<string, number>();
  const r = await runLoad({
    name: `${WATCH_WRITES} creates`,
    clients: CLIENTS,
    maxRequests: WATCH_WRITES,
    expect: 201,
    request: async (_, i) => {
      const name = `w-${i}`;
      sentAt.set(name, performance.now());
      const res = await api.post(`/api/v1/namespaces/${ns}/configmaps`, configMap(name));
      if (res.status === 201) {
        const body = (await res.clone().json()) as { metadata: { resourceVersion: string } };
        rvOf.set(name, Number(body.metadata.resourceVersion));
      }
      return res;
    },
  });
  if (r.errors) throw new Error(`write burst: ${r.errors} errors, first: ${r.firstError}`);
  return { ...r, sentAt, rvOf };
}

async function watchFanOut(server: BenchServer, api: ReturnType<typeof apiClient>): Promise<{ baseline: LoadResult; fanout: FanOut }> {
  // Baseline: the same burst with nobody watching.
  await createNamespace(api, "fanout-base");
  const baseline = await writeBurst(api, "fanout-base");

  await createNamespace(api, "fanout");
  // The root-CA publisher adds kube-root-ca.crt to every new namespace, on its own time (later
  // under load): wait for it, or the watchers may count it as one of the burst's events.
  for (let i = 0; i < 300 && (await api.get("/api/v1/namespaces/fanout/configmaps/kube-root-ca.crt")).status !== 200; i++) await Bun.sleep(100);
  const list = (await (await api.get("/api/v1/namespaces/fanout/configmaps?limit=1")).json()) as { metadata: { resourceVersion: string } };
  const fromRv = list.metadata.resourceVersion;
  const total = WATCH_WRITES + 1; // + the sentinel
  let complete = 0;
  let lastDelivery = 0;
  const watchers: BenchWatcher[] = [];
  let allSeenSentinel: () => void;
  const sentinelSeen = new Promise<void>((r) => (allSeenSentinel = r));
  let sawSentinel = 0;
  let allDone: () => void;
  const delivered = new Promise<void>((r) => (allDone = r));
  for (let i = 0; i < WATCHERS; i++) {
    const w = openWatch(
      `${server.url}/api/v1/namespaces/fanout/configmaps?watch=1&resourceVersion=${fromRv}`,
      { headers: { authorization: `Bearer ${server.token}` }, tls: { ca: server.caCertPem } } as RequestInit,
      (e) => {
        if (e.name === "sentinel" && ++sawSentinel === WATCHERS) allSeenSentinel();
        if (w.events.length === total) {
          lastDelivery = Math.max(lastDelivery, e.at);
          if (++complete === WATCHERS) allDone();
        }
      },
    );
    watchers.push(w);
  }
  // Every watcher is connected and streaming once it has seen this object.
  const sentinel = await api.post("/api/v1/namespaces/fanout/configmaps", configMap("sentinel"));
  if (sentinel.status !== 201) throw new Error(`sentinel: ${sentinel.status} ${await sentinel.text()}`);
  await withTimeout(sentinelSeen, 30_000, () => `only ${sawSentinel}/${WATCHERS} watchers saw the sentinel; errors: ${watchers.map((w) => w.error).filter(Boolean).slice(0, 3).join("; ")}`);

  const cpu0 = cpuMsOf(server.pid);
  const self0 = process.cpuUsage();
  const machine0 = machineBusyMs();
  const t0 = performance.now();
  const burst = await writeBurst(api, "fanout");
  const writeEnd = performance.now();
  const failures: string[] = [];
  await withTimeout(delivered, WATCH_TIMEOUT_MS, () => `after ${WATCH_TIMEOUT_MS} ms only ${complete}/${WATCHERS} watchers had all ${total} events`).catch((e) => failures.push(String(e.message)));
  const serverCpuMs = cpuMsOf(server.pid) - cpu0;
  const self = process.cpuUsage(self0);
  const clientCpuMs = (self.user + self.system) / 1000;
  const otherCpuMs = Math.max(0, machineBusyMs() - machine0 - serverCpuMs - clientCpuMs);
  for (const w of watchers) w.stop();

  // Assertions: each watcher saw exactly the writes, as ADDED events, in commit (resourceVersion)
  // order, which is also the order the writers' acknowledgements give.
  const expected = [...burst.rvOf.entries()].sort((a, b) => a[1] - b[1]);
  const lags: number[] = [];
  watchers.forEach((w, i) => {
    if (w.error) failures.push(`watcher ${i}: ${w.error}`);
    const evs = w.events.filter((e) => e.name !== "sentinel");
    if (evs.length !== expected.length) return failures.push(`watcher ${i}: ${evs.length} events, want ${expected.length}`);
    for (let k = 0; k < evs.length; k++) {
      const e = evs[k]!;
      const [name, rv] = expected[k]!;
      if (e.type !== "ADDED" || e.name !== name || e.rv !== rv) {
        failures.push(`watcher ${i}: event ${k} is ${e.type} ${e.name}@${e.rv}, want ADDED ${name}@${rv}`);
        break;
      }
      lags.push(e.at - burst.sentAt.get(name)!);
    }
  });
  lags.sort((a, b) => a - b);
  const deliveryMs = (lastDelivery || performance.now()) - t0;
  return {
    baseline,
    fanout: {
      writeMs: writeEnd - t0,
      deliveryMs,
      tailMs: (lastDelivery || performance.now()) - writeEnd,
      delivered: watchers.reduce((n, w) => n + w.events.filter((e) => e.name !== "sentinel").length, 0),
      lagP50: percentile(lags, 0.5),
      lagP99: percentile(lags, 0.99),
      lagMax: lags.at(-1) ?? 0,
      failures,
      serverCpu: serverCpuMs / deliveryMs,
      clientCpu: clientCpuMs / deliveryMs,
      otherCpu: otherCpuMs / deliveryMs,
    },
  };
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
type Api = ReturnType<typeof apiClient>;

/** (a) creates/s and (b) gets/s, against /healthz and the in-process Store. */
let warmUps = 0;
/** JIT, TLS sessions and the connection pool warm before anything is measured. */
async function warmUp(api: Api) {
  const round = warmUps++;
  await runLoad({ name: "warm-up", clients: CLIENTS, durationMs: 1000, expect: 200, request: () => api.plain("/healthz") });
  await runLoad({ name: "warm-up", clients: CLIENTS, durationMs: 1000, expect: 201, request: (_, i) => api.post("/api/v1/namespaces/default/configmaps", configMap(`warm-${round}-${i}`)) });
}

async function requestPhases(api: Api): Promise<boolean> {
  await warmUp(api);

  const healthz = await measured(server, () =>
    runLoad({ name: "GET /healthz (baseline: HTTPS floor)", clients: CLIENTS, durationMs: RUN_MS, expect: 200, request: () => api.plain("/healthz") }),
  );
  const creates = await measured(server, () =>
    runLoad({ name: "POST configmap (create)", clients: CLIENTS, durationMs: RUN_MS, expect: 201, request: (_, i) => api.post("/api/v1/namespaces/default/configmaps", configMap(`cm-${i}`)) }),
  );
  const created = Math.max(1, creates.requests - creates.errors);
  const gets = await measured(server, () =>
    runLoad({ name: "GET configmap (get)", clients: CLIENTS, durationMs: RUN_MS, expect: 200, request: (_, i) => api.get(`/api/v1/namespaces/default/configmaps/cm-${(i * 7919) % created}`) }),
  );
  const store = await storeBaseline();

  printTable(
    ["scenario", "req/s", "× healthz", "p50 ms", "p99 ms", "max ms", "errors", "server CPU", "client CPU", "other CPU", "conns"],
    [healthz, creates, gets, store].map((r) => [
      r.name,
      fmt(r.rate),
      fmt(r.rate / healthz.rate, 2),
      fmt(r.p50, 2),
      fmt(r.p99, 2),
      fmt(r.max, 1),
      r.errors,
      Number.isFinite(r.serverCpu) ? `${fmt(r.serverCpu * 100)}%` : "-",
      `${fmt(r.clientCpu * 100)}%`,
      `${fmt(r.otherCpu * 100)}%`,
      r.connections || "-",
    ]),
  );
  console.log("CPU = CPU time / wall time (100% = one core busy); other = every other process on the machine (noise);");
  console.log("conns = most established connections to the server seen during the phase");
  if (creates.firstError || gets.firstError) console.log(`first error: ${creates.firstError ?? gets.firstError}`);
  console.log(`creates vs the datastore ceiling: ${fmt(creates.rate / store.rate, 2)}×; gets vs creates: ${fmt(gets.rate / creates.rate, 2)}×`);
  const ok = creates.rate >= CREATE_TARGET && creates.errors === 0 && gets.errors === 0;
  console.log(`target: ≥ ${CREATE_TARGET} creates/s — ${met(ok)} (${fmt(creates.rate)}/s)\n`);
  return ok;
}

/** (c) watch fan-out, against the same writes with no watchers. */
async function watchPhase(api: Api): Promise<boolean> {
  await warmUp(api);
  const { baseline: burstBase, fanout } = await watchFanOut(server, api);
  const events = WATCHERS * WATCH_WRITES;
  const fanoutRate = (WATCH_WRITES / fanout.writeMs) * 1000;
  console.log(`watch fan-out: ${WATCHERS} watchers on configmaps in one namespace, then ${WATCH_WRITES} creates by ${CLIENTS} writers`);
  printTable(
    ["scenario", "writes/s", "× no watchers", "time ms", "events delivered", "events/s", "lag p50 ms", "lag p99 ms", "lag max ms"],
    [
      ["writes, no watchers (baseline)", fmt(burstBase.rate), "1.00", fmt(burstBase.ms), "-", "-", "-", "-", "-"],
      [`writes, ${WATCHERS} watchers`, fmt(fanoutRate), fmt(fanoutRate / burstBase.rate, 2), fmt(fanout.writeMs), "-", "-", "-", "-", "-"],
      [`delivery to all ${WATCHERS} watchers`, "-", "-", fmt(fanout.deliveryMs), `${fanout.delivered}/${events}`, fmt((fanout.delivered / fanout.deliveryMs) * 1000), fmt(fanout.lagP50, 1), fmt(fanout.lagP99, 1), fmt(fanout.lagMax, 1)],
    ],
  );
  console.log(`delivery time = first write sent → last event at the last watcher; lag = event arrival − its create sent`);
  console.log(`last event arrived ${fmt(fanout.tailMs)} ms after the last write was acknowledged; CPU during delivery: server ${fmt(fanout.serverCpu * 100)}%, client ${fmt(fanout.clientCpu * 100)}%, other ${fmt(fanout.otherCpu * 100)}%`);
  const ok = fanout.failures.length === 0;
  console.log(`target: every watcher sees every event, in order — ${met(ok)}`);
  for (const f of fanout.failures.slice(0, 10)) console.log(`  ${f}`);
  return ok;
}

const PHASES = new Set(args.phases.split(","));
const server = await startBenchServer({ ...(args.pin ? { cpus: "0" } : {}), bunFlags: args["server-bun-flags"].split(/\s+/).filter(Boolean) });
if (args.pin) pinProcess(process.pid, "1");
try {
  const api = apiClient(server);
  const mode = args.pin ? "pinned: server on CPU 0, load generator on CPU 1" : "unpinned: server and load generator share all cores";
  console.log(`\nbramble API benchmark — ${new Date().toISOString()}, ${cpuModel()}, ${navigator.hardwareConcurrency} cores, Bun ${Bun.version}, bramble ${sourceVersion()}`);
  console.log(`${mode}; ${CLIENTS} concurrent keep-alive HTTPS clients, ${RUN_MS} ms per phase; server start attempts: ${server.attempts}\n`);
  let ok = true;
  if (PHASES.has("requests")) ok = (await requestPhases(api)) && ok;
  if (PHASES.has("watch")) ok = (await watchPhase(api)) && ok;
  process.exitCode = ok ? 0 : 1;
} catch (e) {
  console.error(e);
  console.error(`server log tail:\n${server.log().slice(-3000)}`);
  process.exitCode = 2;
} finally {
  await server.stop();
}
