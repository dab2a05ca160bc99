// Job throughput end to end through the API: the real `bramble server` (libSQL file store, Job
// controller and scheduler inside) + a `bramble sim` child process with N simulated nodes.
// Simulated nodes start pods but never finish them, so this benchmark plays the part of the
// containers exiting: a watch on the pods patches each Running pod's status to Succeeded (exit
// code 0), the one status write a real kubelet makes when a container ends.
//
//   J one-pod Jobs, created by C concurrent clients → every Job Complete   (Jobs/s)
//
// Same-run baseline, on the same server and nodes: J bare pods (restartPolicy Never) created the
// same way and finished by the same completer → every pod Succeeded (pods/s). The ratio is what
// the Job controller costs on top of running the pods (its pod create, finalizer removal and three
// status writes per Job).
//   bun scripts/bench/job-throughput.ts [--jobs 1000] [--nodes 20] [--clients 32] [--timeout 300]
import { parseArgs } from "node:util";
import { apiClient } from "./lib/load.ts";
import { cpuMsOf, cpuModel } from "./lib/proc.ts";
import { startBenchServer } from "./lib/server.ts";
import { startBenchSim, waitSimReady } from "./lib/sim.ts";
import { percentile, printTable } from "./lib/table.ts";
import { openWatch } from "./lib/watch.ts";

const { values: args } = parseArgs({
  options: {
    jobs: { type: "string", default: "1000" },
    nodes: { type: "string", default: "20" },
    clients: { type: "string", default: "32" },
    timeout: { type: "string", default: "300" },
  },
});
const JOBS = Number(args.jobs);
const NODES = Number(args.nodes);
const CLIENTS = Number(args.clients);
const TIMEOUT_MS = Number(args.timeout) * 1000;
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
type Api = ReturnType<typeof apiClient>;

const podSpec = { restartPolicy: "Never", containers: [{ name: "work", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: "10m", memory: "16Mi" } } }] };

async function must(res: Promise<Response>, what: string, status = 201): Promise<any> {
  const r = await res;
  const body = await r.text();
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${body.slice(0, 300)}`);
  return body ? JSON.parse(body) : undefined;
}

/** Sends `n` requests from `clients` concurrent loops. */
async function createAll(n: number, request: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    for (let i = next++; i < n; i = next++) await request(i);
  }));
}

/** Finishes every pod of a namespace that reaches Running, as its containers exiting 0 would. */
function completer(server: { url: string; token: string; caCertPem: string }, api: Api, ns: string) {
  const done = new Set<string>();
  const queue: { name: string; rv: string; containers: string[] }[] = [];
  let errors = 0;
  const init = { headers: { authorization: `Bearer ${server.token}` }, tls: { ca: server.caCertPem } } as RequestInit;
  const watch = openWatch(`${server.url}/api/v1/namespaces/${ns}/pods?watch=1`, init, (e, pod) => {
    if (e.type !== "ADDED" && e.type !== "MODIFIED") return;
    if (pod.status?.phase !== "Running" || done.has(e.name)) return;
    done.add(e.name);
    queue.push({ name: e.name, rv: pod.metadata.resourceVersion, containers: pod.spec.containers.map((c: { name: string }) => c.name) });
  }, { keep: false });
  let stopped = false;
  const workers = Array.from({ length: 8 }, async () => {
    while (!stopped) {
      const p = queue.shift();
      if (!p) {
        await Bun.sleep(5);
        continue;
      }
      const t = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
      const status = {
        phase: "Succeeded",
        conditions: [{ type: "Ready", status: "False", lastTransitionTime: t, reason: "PodCompleted" }],
        containerStatuses: p.containers.map((name) => ({ name, ready: false, restartCount: 0, image: podSpec.containers[0]!.image, imageID: "", state: { terminated: { exitCode: 0, reason: "Completed", startedAt: t, finishedAt: t } } })),
      };
      const r = await api.patch(`/api/v1/namespaces/${ns}/pods/${p.name}/status`, { status });
      if (r.status !== 200) errors++;
      await r.arrayBuffer();
    }
  });
  return {
    get errors() {
      return errors;
    },
    async stop() {
      stopped = true;
      watch.stop();
      await Promise.all(workers);
    },
  };
}

interface Phase {
  name: string;
  count: number;
  ms: number;
  done: boolean;
  latencies: number[];
  serverCpuMs: number;
}

/** Creates `JOBS` objects by `create(i)` and waits until `isDone` holds for each on a watch of `watchPath`. */
async function phase(name: string, server: { url: string; token: string; caCertPem: string; pid: number }, watchPath: string, create: (i: number) => Promise<unknown>, isDone: (obj: any) => boolean): Promise<Phase> {
  const createdAt = new Map<string, number>();
  const doneAt = new Map<string, number>();
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  const init = { headers: { authorization: `Bearer ${server.token}` }, tls: { ca: server.caCertPem } } as RequestInit;
  const watch = openWatch(`${server.url}${watchPath}?watch=1`, init, (e, obj) => {
    if (e.type === "ADDED") createdAt.set(e.name, createdAt.get(e.name) ?? e.at);
    if ((e.type === "ADDED" || e.type === "MODIFIED") && !doneAt.has(e.name) && isDone(obj)) {
      doneAt.set(e.name, e.at);
      if (doneAt.size === JOBS) resolveAll();
    }
  }, { keep: false });
  await Bun.sleep(200);
  const cpu0 = cpuMsOf(server.pid);
  const t0 = performance.now();
  await createAll(JOBS, create);
  let timer: Timer | undefined;
  const done = await Promise.race([all.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), TIMEOUT_MS)))]);
  clearTimeout(timer);
  const ms = performance.now() - t0;
  const serverCpuMs = cpuMsOf(server.pid) - cpu0;
  watch.stop();
  const latencies = [...doneAt].map(([n, at]) => at - (createdAt.get(n) ?? t0)).sort((a, b) => a - b);
  return { name, count: doneAt.size, ms, done, latencies, serverCpuMs };
}

console.log(`\nbramble Job throughput benchmark — ${new Date().toISOString()}, ${cpuModel()}, ${navigator.hardwareConcurrency} cores, Bun ${Bun.version}`);
console.log(`${JOBS} one-pod Jobs, ${CLIENTS} clients, ${NODES} simulated nodes; server (libSQL file store) and sim are child processes\n`);
const server = await startBenchServer({});
const api = apiClient(server);
const sim = startBenchSim(server, { nodes: NODES, prefix: "sim", cpu: "64", memory: "256Gi", pods: 1000 });
let exit = 1;
try {
  console.log(`${NODES} simulated nodes Ready in ${fmt(await waitSimReady(api, sim))} ms`);
  for (const ns of ["bench-pods", "bench-jobs"]) await must(api.post("/api/v1/namespaces", { metadata: { name: ns } }), ns);
  const finishers = [completer(server, api, "bench-pods"), completer(server, api, "bench-jobs")];

  const pods = await phase(
    "baseline: bare pods → Succeeded",
    server,
    "/api/v1/namespaces/bench-pods/pods",
    (i) => must(api.post("/api/v1/namespaces/bench-pods/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: `p-${i}` }, spec: podSpec }), "pod"),
    (pod) => pod.status?.phase === "Succeeded",
  );
  const jobs = await phase(
    "one-pod Jobs → Complete",
    server,
    "/apis/batch/v1/namespaces/bench-jobs/jobs",
    (i) => must(api.post("/apis/batch/v1/namespaces/bench-jobs/jobs", { apiVersion: "batch/v1", kind: "Job", metadata: { name: `j-${i}` }, spec: { template: { spec: podSpec } } }), "job"),
    (job) => job.status?.conditions?.some((c: { type: string; status: string }) => c.type === "Complete" && c.status === "True"),
  );
  await Promise.all(finishers.map((f) => f.stop()));

  const rate = (p: Phase) => (p.count / p.ms) * 1000;
  printTable(
    ["scenario", "done", "objects/s", "× baseline", "p50 s", "p99 s", "server CPU ms/object"],
    [pods, jobs].map((p) => [
      p.name + (p.done ? "" : " (timed out)"),
      `${p.count}/${JOBS}`,
      fmt(rate(p), 1),
      fmt(rate(p) / rate(pods), 2),
      fmt(percentile(p.latencies, 0.5) / 1000, 2),
      fmt(percentile(p.latencies, 0.99) / 1000, 2),
      fmt(p.serverCpuMs / Math.max(1, p.count), 2),
    ]),
  );
  console.log("p50/p99: create seen on the watch → done seen on the watch; completer errors: " + finishers.map((f) => f.errors).join(", "));
  console.log(`\nJobs/s: ${fmt(rate(jobs), 1)}`);
  exit = pods.done && jobs.done ? 0 : 1;
} catch (e) {
  console.error(e);
  console.error(`server log tail:\n${server.log().slice(-3000)}`);
} finally {
  await sim.kill("SIGTERM");
  await server.stop();
}
process.exitCode = exit;
