// End to end through the API: the real `bramble server` (libSQL file store, controllers and
// scheduler inside) + a `bramble sim` child process with N simulated nodes; create one Deployment
// with R replicas (small requests) and time it until every pod is Running, with the phases seen
// on a watch: ReplicaSet created, pods created, pods bound (scheduled), pods Running.
//
// Same-run baseline: raw pod creates/s through the API with 64 concurrent keep-alive clients on a
// fresh server of its own (pods with a schedulerName nobody serves, so nothing else acts on them):
// the ceiling for how fast any controller could create pods. Both processes float over the
// machine's cores, like the benchmark client, so CPU use per process is reported too.
//   bun scripts/bench/deploy-e2e.ts [--nodes 200] [--replicas 10000] [--timeout 180] [--clients 64]
//                                  [--server-bun-flags="--cpu-prof --cpu-prof-dir=/tmp/prof"] [--sim-bun-flags ...]
import { parseArgs } from "node:util";
import { apiClient, runLoad, type LoadResult } from "./lib/load.ts";
import { cpuMsOf, cpuModel, machineBusyMs } from "./lib/proc.ts";
import { startBenchServer, type BenchServer } from "./lib/server.ts";
import { startBenchSim, waitSimReady, type BenchSim } from "./lib/sim.ts";
import { met, printTable } from "./lib/table.ts";
import { openWatch } from "./lib/watch.ts";

const { values: args } = parseArgs({
  options: {
    nodes: { type: "string", default: "200" },
    replicas: { type: "string", default: "10000" },
    timeout: { type: "string", default: "180" },
    clients: { type: "string", default: "64" },
    "skip-baseline": { type: "boolean", default: false },
    "server-bun-flags": { type: "string", default: "" },
    "sim-bun-flags": { type: "string", default: "" },
  },
});
const NODES = Number(args.nodes);
const REPLICAS = Number(args.replicas);
const TIMEOUT_MS = Number(args.timeout) * 1000;
const CLIENTS = Number(args.clients);
const TARGET = 1_000; // pods/s
const CLUSTER_CIDR = "10.64.0.0/12"; // 4,096 node /24s, 254 pod IPs each
const NS = "bench";
const flags = (s: string) => s.split(/\s+/).filter(Boolean);
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
const secs = (ms: number | undefined) => (ms === undefined ? "-" : (ms / 1000).toFixed(2));
type Api = ReturnType<typeof apiClient>;

const container = { name: "app", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: "10m", memory: "16Mi" } } };

async function must(res: Promise<Response>, what: string, status = 201): Promise<any> {
  const r = await res;
  const body = await r.text();
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${body.slice(0, 300)}`);
  return body ? JSON.parse(body) : undefined;
}

/** The create ceiling: R bare pods by 64 clients into a fresh server that no scheduler serves. */
async function baseline(): Promise<LoadResult & { serverCpu: number; serverCpuMs: number }> {
  const server = await startBenchServer({ args: ["--cluster-cidr", CLUSTER_CIDR] });
  try {
    const api = apiClient(server);
    await must(api.post("/api/v1/namespaces", { metadata: { name: NS } }), "namespace");
    const pod = (name: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, labels: { app: "raw" } }, spec: { schedulerName: "bench-nobody", containers: [container] } });
    await runLoad({ name: "warm-up", clients: CLIENTS, durationMs: 1000, expect: 201, request: (_, i) => api.post(`/api/v1/namespaces/${NS}/pods`, pod(`warm-${i}`)) });
    const cpu0 = cpuMsOf(server.pid);
    const r = await runLoad({
      name: `baseline: raw pod creates, ${CLIENTS} clients`,
      clients: CLIENTS,
      maxRequests: REPLICAS,
      durationMs: 60_000,
      expect: 201,
      request: (_, i) => api.post(`/api/v1/namespaces/${NS}/pods`, pod(`raw-${i}`)),
    });
    const serverCpuMs = cpuMsOf(server.pid) - cpu0;
    return { ...r, serverCpu: serverCpuMs / r.ms, serverCpuMs };
  } finally {
    await server.stop();
  }
}

interface Progress {
  t0: number;
  rsAt?: number;
  created: Map<string, number>;
  scheduled: Map<string, number>;
  running: Map<string, number>;
}

interface Sample {
  at: number;
  created: number;
  scheduled: number;
  running: number;
  server: number;
  sim: number;
  self: number;
  other: number;
}

/** Per-second counts and CPU shares (ms of CPU per ms of wall time) of server, sim, this process, the rest. */
function sampler(server: BenchServer, sim: BenchSim, p: Progress) {
  const samples: Sample[] = [];
  let last = { at: performance.now(), server: cpuMsOf(server.pid), sim: cpuMsOf(sim.pid), self: process.cpuUsage(), machine: machineBusyMs() };
  const first = last;
  const take = () => {
    const now = { at: performance.now(), server: cpuMsOf(server.pid), sim: cpuMsOf(sim.pid), self: process.cpuUsage(), machine: machineBusyMs() };
    const dt = now.at - last.at;
    const self = process.cpuUsage(last.self);
    const selfMs = (self.user + self.system) / 1000;
    const serverMs = now.server - last.server;
    const simMs = now.sim - last.sim;
    samples.push({
      at: now.at - p.t0,
      created: p.created.size,
      scheduled: p.scheduled.size,
      running: p.running.size,
      server: serverMs / dt,
      sim: simMs / dt,
      self: selfMs / dt,
      other: Math.max(0, now.machine - last.machine - serverMs - simMs - selfMs) / dt,
    });
    last = now;
  };
  const timer = setInterval(take, 1000);
  return {
    samples,
    stop() {
      clearInterval(timer);
      take();
      const self = process.cpuUsage(first.self);
      const dt = last.at - first.at;
      const serverMs = last.server - first.server;
      const simMs = last.sim - first.sim;
      const selfMs = (self.user + self.system) / 1000;
      return { serverMs, simMs, server: serverMs / dt, sim: simMs / dt, self: selfMs / dt, other: Math.max(0, last.machine - first.machine - serverMs - simMs - selfMs) / dt };
    },
  };
}

async function endToEnd(): Promise<{ ok: boolean; rate: number; done: boolean; serverCpuMsPerPod: number; simCpuMsPerPod: number }> {
  const server = await startBenchServer({ args: ["--cluster-cidr", CLUSTER_CIDR], bunFlags: flags(args["server-bun-flags"]) });
  const api = apiClient(server);
  let sim: BenchSim | undefined;
  try {
    sim = startBenchSim(server, { nodes: NODES, prefix: "sim", cpu: "4", memory: "8Gi", pods: 110, args: ["--cluster-cidr", CLUSTER_CIDR], bunFlags: flags(args["sim-bun-flags"]) });
    const readyMs = await waitSimReady(api, sim);
    console.log(`${NODES} simulated nodes Ready in ${fmt(readyMs)} ms (sim pid ${sim.pid}, server pid ${server.pid})`);
    await must(api.post("/api/v1/namespaces", { metadata: { name: NS } }), "namespace");

    const p: Progress = { t0: 0, created: new Map(), scheduled: new Map(), running: new Map() };
    let resolveDone!: () => void;
    const allRunning = new Promise<void>((r) => (resolveDone = r));
    const init = { headers: { authorization: `Bearer ${server.token}` }, tls: { ca: server.caCertPem } } as RequestInit;
    const listRv = async (path: string) => ((await must(api.get(`${path}?limit=1`), path, 200)) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    const podWatch = openWatch(
      `${server.url}/api/v1/namespaces/${NS}/pods?watch=1&resourceVersion=${await listRv(`/api/v1/namespaces/${NS}/pods`)}`,
      init,
      (e, pod) => {
        if (e.type === "DELETED" || e.type === "BOOKMARK") return;
        const at = e.at;
        if (!p.created.has(e.name)) p.created.set(e.name, at);
        if (pod.spec?.nodeName && !p.scheduled.has(e.name)) p.scheduled.set(e.name, at);
        if (pod.status?.phase === "Running" && !p.running.has(e.name)) {
          p.running.set(e.name, at);
          if (p.running.size === REPLICAS) resolveDone();
        }
      },
      { keep: false },
    );
    const rsWatch = openWatch(
      `${server.url}/apis/apps/v1/namespaces/${NS}/replicasets?watch=1&resourceVersion=${await listRv(`/apis/apps/v1/namespaces/${NS}/replicasets`)}`,
      init,
      (e) => {
        if (e.type === "ADDED") p.rsAt ??= e.at;
      },
      { keep: false },
    );
    await Bun.sleep(200); // both watches connected

    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "big" },
      spec: {
        replicas: REPLICAS,
        selector: { matchLabels: { app: "big" } },
        template: { metadata: { labels: { app: "big" } }, spec: { containers: [container] } },
      },
    };
    p.t0 = performance.now();
    const cpu = sampler(server, sim, p);
    await must(api.post(`/apis/apps/v1/namespaces/${NS}/deployments`, deployment), "deployment");
    const createdMs = performance.now() - p.t0;

    let reported = 0;
    const ticker = setInterval(() => {
      const s = cpu.samples.at(-1);
      if (!s || s.at - reported < 5000) return;
      reported = s.at;
      console.log(`  t=${secs(s.at)}s created ${s.created} scheduled ${s.scheduled} running ${s.running}; CPU server ${fmt(s.server * 100)}% sim ${fmt(s.sim * 100)}% bench ${fmt(s.self * 100)}%`);
    }, 1000);
    let timer: Timer | undefined;
    const done = await Promise.race([allRunning.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), TIMEOUT_MS)))]);
    clearTimeout(timer); // a pending timer would keep this process alive
    const endMs = performance.now() - p.t0;
    clearInterval(ticker);
    const use = cpu.stop();
    podWatch.stop();
    rsWatch.stop();

    // Phases: when the first, the median and the last pod reached each state (s after the POST).
    const at = (m: Map<string, number>, q: number) => {
      const t = [...m.values()].sort((a, b) => a - b);
      if (!t.length || (q === 1 && t.length < REPLICAS)) return undefined;
      return t[Math.min(t.length - 1, Math.floor((t.length - 1) * q))]! - p.t0;
    };
    const phaseRow = (name: string, m: Map<string, number>) => {
      const first = at(m, 0);
      const last = at(m, 1);
      return [name, `${m.size}/${REPLICAS}`, secs(first), secs(at(m, 0.5)), secs(last), last !== undefined ? fmt((REPLICAS / last) * 1000) : fmt((m.size / endMs) * 1000)];
    };
    console.log(`\nDeployment of ${REPLICAS} replicas (requests cpu 10m, memory 16Mi) on ${NODES} nodes (4 cpu, 8Gi, 110 pods each)`);
    printTable(
      ["phase", "count", "first s", "median s", "all s", "pods/s (count / time to all)"],
      [
        ["POST Deployment answered", "1", secs(createdMs), "-", secs(createdMs), "-"],
        ["ReplicaSet created (watch)", p.rsAt ? "1" : "0", secs(p.rsAt && p.rsAt - p.t0), "-", secs(p.rsAt && p.rsAt - p.t0), "-"],
        phaseRow("pods created", p.created),
        phaseRow("pods scheduled (bound)", p.scheduled),
        phaseRow("pods Running", p.running),
      ],
    );
    console.log("times are seconds after the Deployment POST was sent, as seen on a watch; '-' in 'all' = not all reached it before the timeout");

    // Timeline: every ~10 s, what had happened and who used the CPU in that second.
    const step = Math.max(1, Math.round(cpu.samples.length / 12));
    console.log(`\ntimeline (CPU = that second's CPU time / wall time; 100% = one core; ${navigator.hardwareConcurrency} cores)`);
    printTable(
      ["t s", "created", "scheduled", "Running", "server CPU", "sim CPU", "bench CPU", "other CPU"],
      cpu.samples.filter((_, i) => i % step === 0 || i === cpu.samples.length - 1).map((s) => [secs(s.at), s.created, s.scheduled, s.running, `${fmt(s.server * 100)}%`, `${fmt(s.sim * 100)}%`, `${fmt(s.self * 100)}%`, `${fmt(s.other * 100)}%`]),
    );
    console.log(`whole run: server ${fmt(use.server * 100)}%, sim ${fmt(use.sim * 100)}%, bench ${fmt(use.self * 100)}%, other ${fmt(use.other * 100)}%`);

    // Cross-check on the API, not just the watch.
    const list = (await must(api.get(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dbig`), "list pods", 200)) as { items: any[] };
    const runningNow = list.items.filter((x) => x.status?.phase === "Running").length;
    console.log(`list check: ${list.items.length} pods, ${runningNow} Running${podWatch.error ? `; pod watch error: ${podWatch.error}` : ""}`);

    const rate = done ? (REPLICAS / endMs) * 1000 : (p.running.size / endMs) * 1000;
    return { ok: done && runningNow === REPLICAS, rate, done, serverCpuMsPerPod: use.serverMs / Math.max(1, p.running.size), simCpuMsPerPod: use.simMs / Math.max(1, p.running.size) };
  } catch (e) {
    console.error(e);
    console.error(`server log tail:\n${server.log().slice(-3000)}`);
    if (sim) console.error(`sim log tail:\n${sim.log().slice(-3000)}`);
    return { ok: false, rate: NaN, done: false, serverCpuMsPerPod: NaN, simCpuMsPerPod: NaN };
  } finally {
    await sim?.kill("SIGTERM"); // a clean exit, so a --cpu-prof profile is written
    await server.stop();
  }
}

console.log(`\nbramble end-to-end Deployment benchmark — ${new Date().toISOString()}, ${cpuModel()}, ${navigator.hardwareConcurrency} cores, Bun ${Bun.version}`);
console.log(`server (libSQL file store) and sim are child processes; timeout ${TIMEOUT_MS / 1000} s\n`);
const base = args["skip-baseline"] ? undefined : await baseline();
if (base) console.log(`baseline: ${base.requests - base.errors} raw pod creates by ${CLIENTS} clients: ${fmt(base.rate)} creates/s (p50 ${fmt(base.p50, 1)} ms, p99 ${fmt(base.p99, 1)} ms, errors ${base.errors}${base.firstError ? `: ${base.firstError}` : ""}; server CPU ${fmt(base.serverCpu * 100)}%)\n`);
const e2e = await endToEnd();
console.log();
printTable(
  ["scenario", "pods/s", "× baseline", "server CPU ms/pod", "sim CPU ms/pod"],
  [
    ...(base ? [[base.name, fmt(base.rate), "1.00", fmt(base.serverCpuMs / Math.max(1, base.requests), 2), "-"]] : []),
    [`Deployment ${REPLICAS} replicas → all Running${e2e.done ? "" : " (timed out: Running so far / time)"}`, fmt(e2e.rate), base ? fmt(e2e.rate / base.rate, 2) : "-", fmt(e2e.serverCpuMsPerPod, 2), fmt(e2e.simCpuMsPerPod, 2)],
  ],
);
console.log("server CPU ms/pod = the server's CPU time over the phase / pods (Running); what one pod costs the control plane");
const ok = e2e.ok && e2e.rate >= TARGET;
console.log(`\ntarget: ≥ ${TARGET} pods/s from Deployment create to all Running — ${met(ok)} (${fmt(e2e.rate)} pods/s${e2e.done ? "" : `, not all Running within ${TIMEOUT_MS / 1000} s`})`);
process.exitCode = ok ? 0 : 1;
