// Failover with default flags: the real `bramble server` (--node-monitor-grace-period 20s,
// --default-not-ready-toleration-seconds 10) and two `bramble sim` processes with their default
// 10 s heartbeat. A Deployment's replicas are placed on sim A (B joins only once they all run
// there, so nothing else pins them); then sim A is SIGKILLed (a power cut). Measured: from A's
// last heartbeat (the latest renewTime of its nodes' Leases) to every replica Running on B, with
// the steps seen on watches: node Unknown, unreachable taint, pods marked NodeLost, pods evicted,
// replacements created, bound to B, Running.
//
// Baseline: Kubernetes' defaults cannot be run here in reasonable time, so it is analytic:
// --node-monitor-grace-period 40 s (50 s since v1.32) + the 300 s not-ready/unreachable
// tolerations the DefaultTolerationSeconds admission plugin gives every pod = 340–350 s before
// the replacement pods are even created.
//   bun scripts/bench/failover.ts [--runs 2] [--replicas 20] [--timeout 120]
import { parseArgs } from "node:util";
import { apiClient } from "./lib/load.ts";
import { cpuModel } from "./lib/proc.ts";
import { startBenchServer, type BenchServer } from "./lib/server.ts";
import { startBenchSim, waitSimReady, type BenchSim } from "./lib/sim.ts";
import { met, printTable } from "./lib/table.ts";
import { openWatch } from "./lib/watch.ts";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "2" },
    replicas: { type: "string", default: "20" },
    timeout: { type: "string", default: "120" },
  },
});
const RUNS = Number(args.runs);
const REPLICAS = Number(args.replicas);
const TIMEOUT_MS = Number(args.timeout) * 1000;
const TARGET_S = 30;
const UPSTREAM = { graceS: 40, graceS132: 50, tolerationS: 300 };
const A_NODES = 2; // with room for half the replicas each, so two nodes fail
const B_NODES = 3;
const NS = "default";
const APP = "failover";

const now = () => performance.timeOrigin + performance.now(); // wall clock, sub-millisecond
const fmt = (n: number | undefined, digits = 2) => (n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : "-");
type Api = ReturnType<typeof apiClient>;

async function must(res: Promise<Response>, what: string, status = 201): Promise<any> {
  const r = await res;
  const body = await r.text();
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${body.slice(0, 300)}`);
  return body ? JSON.parse(body) : undefined;
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs: number, intervalMs = 100): Promise<T> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    const v = await f();
    if (v !== undefined) return v;
    await Bun.sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Wall-clock ms of the first time each key was set. */
class FirstSeen {
  readonly at = new Map<string, number>();
  mark(key: string, t: number) {
    if (!this.at.has(key)) this.at.set(key, t);
  }
  first = () => (this.at.size ? Math.min(...this.at.values()) : undefined);
  last = () => (this.at.size ? Math.max(...this.at.values()) : undefined);
}

interface RunResult {
  lastBeat: number;
  beatSpreadMs: number;
  killAfterBeatS: number;
  steps: { name: string; first?: number; last?: number }[];
  totalS?: number;
  failure?: string;
}

async function oneRun(run: number): Promise<RunResult> {
  let server: BenchServer;
  try {
    server = await startBenchServer();
  } catch (e) {
    console.error(e);
    return { lastBeat: NaN, beatSpreadMs: NaN, killAfterBeatS: NaN, steps: [], failure: `server did not start: ${(e as Error).message.split("\n")[0]}` };
  }
  const api: Api = apiClient(server);
  const sims: BenchSim[] = [];
  try {
    const simA = startBenchSim(server, { nodes: A_NODES, prefix: "a", pods: REPLICAS / A_NODES });
    sims.push(simA);
    await waitSimReady(api, simA);
    const container = { name: "app", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: "10m", memory: "16Mi" } } };
    await must(
      api.post(`/apis/apps/v1/namespaces/${NS}/deployments`, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: APP },
        spec: { replicas: REPLICAS, selector: { matchLabels: { app: APP } }, template: { metadata: { labels: { app: APP } }, spec: { containers: [container] } } },
      }),
      "deployment",
    );
    const listPods = async () => ((await must(api.get(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3D${APP}`), "list pods", 200)) as { items: any[]; metadata: { resourceVersion: string } });
    const placed = await until(
      `${REPLICAS} pods Running on sim A`,
      async () => {
        const l = await listPods();
        const running = l.items.filter((p) => p.status?.phase === "Running" && p.spec?.nodeName?.startsWith("a-"));
        return running.length === REPLICAS ? l : undefined;
      },
      60_000,
    );
    const onA = new Set<string>(placed.items.map((p) => p.metadata.name));
    const perNode = new Map<string, number>();
    for (const p of placed.items) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);

    const simB = startBenchSim(server, { nodes: B_NODES, prefix: "b" });
    sims.push(simB);
    await waitSimReady(api, simB);

    // Watches from here on: nodes (Ready=Unknown, taint) and the Deployment's pods.
    const unknown = new FirstSeen();
    const tainted = new FirstSeen();
    const lost = new FirstSeen();
    const evicted = new FirstSeen();
    const created = new FirstSeen();
    const bound = new FirstSeen();
    const running = new FirstSeen();
    const runningOnB = new Set<string>();
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const init = { headers: { authorization: `Bearer ${server.token}` }, tls: { ca: server.caCertPem } } as RequestInit;
    const nodeRv = ((await must(api.get("/api/v1/nodes?limit=1"), "nodes", 200)) as any).metadata.resourceVersion;
    const nodeWatch = openWatch(`${server.url}/api/v1/nodes?watch=1&resourceVersion=${nodeRv}`, init, (e, node) => {
      if (!e.name.startsWith("a-")) return;
      const t = now();
      if (node.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "Unknown")) unknown.mark(e.name, t);
      if (node.spec?.taints?.some((x: any) => x.key === "node.kubernetes.io/unreachable" && x.effect === "NoExecute")) tainted.mark(e.name, t);
    }, { keep: false });
    const podRv = (await listPods()).metadata.resourceVersion;
    const podWatch = openWatch(`${server.url}/api/v1/namespaces/${NS}/pods?watch=1&labelSelector=app%3D${APP}&resourceVersion=${podRv}`, init, (e, pod) => {
      const t = now();
      const name = e.name;
      if (onA.has(name)) {
        if (e.type === "DELETED") evicted.mark(name, t);
        else if (pod.status?.reason === "NodeLost") lost.mark(name, t);
        return;
      }
      if (e.type === "DELETED") {
        runningOnB.delete(name);
        return;
      }
      created.mark(name, t);
      if (pod.spec?.nodeName?.startsWith("b-")) bound.mark(name, t);
      if (pod.status?.phase === "Running" && pod.spec?.nodeName?.startsWith("b-") && !pod.metadata.deletionTimestamp) {
        running.mark(name, t);
        runningOnB.add(name);
        if (runningOnB.size === REPLICAS) resolveDone();
      }
    }, { keep: false });
    await Bun.sleep(300); // both watches connected

    // Kill at some point within the 10 s heartbeat interval: from the last beat it makes no
    // difference (the grace period runs from the last beat the server saw).
    await Bun.sleep(1000 + Math.random() * 4000);
    await simA.kill("SIGKILL");
    const killedAt = now();
    console.log(`run ${run}: sim A (pid ${simA.pid}, nodes ${[...perNode].map(([n, c]) => `${n}: ${c} pods`).join(", ")}) killed with SIGKILL`);

    let timer: Timer | undefined;
    const ok = await Promise.race([done.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), TIMEOUT_MS)))]);
    clearTimeout(timer); // a pending timer would keep this process alive
    nodeWatch.stop();
    podWatch.stop();

    // A's last heartbeats, read once it is long dead (a renewal in flight at the kill has landed).
    const beats: number[] = [];
    for (const n of simA.nodeNames) {
      const lease = await must(api.get(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${n}`), `lease ${n}`, 200);
      beats.push(Date.parse(lease.spec.renewTime));
    }
    const lastBeat = Math.max(...beats);
    const s = (t: number | undefined) => (t === undefined ? undefined : (t - lastBeat) / 1000);
    const steps = [
      { name: "SIGKILL sim A", first: s(killedAt), last: s(killedAt) },
      { name: "detected: node Ready=Unknown", first: s(unknown.first()), last: s(unknown.last()) },
      { name: "unreachable NoExecute taint", first: s(tainted.first()), last: s(tainted.last()) },
      { name: "pods marked NodeLost", first: s(lost.first()), last: s(lost.last()) },
      { name: "pods evicted (deleted)", first: s(evicted.first()), last: s(evicted.last()) },
      { name: "replacements created", first: s(created.first()), last: s(created.last()) },
      { name: "replacements bound to B", first: s(bound.first()), last: s(bound.last()) },
      { name: "replacements Running on B", first: s(running.first()), last: s(running.last()) },
    ];
    return {
      lastBeat,
      beatSpreadMs: lastBeat - Math.min(...beats),
      killAfterBeatS: (killedAt - lastBeat) / 1000,
      steps,
      totalS: ok ? s(running.last()) : undefined,
      failure: ok ? undefined : `only ${runningOnB.size}/${REPLICAS} Running on B after ${TIMEOUT_MS / 1000} s; evicted ${evicted.at.size}, created ${created.at.size}${podWatch.error ? `; pod watch: ${podWatch.error}` : ""}`,
    };
  } catch (e) {
    console.error(e);
    console.error(`server log tail:\n${server.log().slice(-3000)}`);
    for (const sim of sims) console.error(`sim ${sim.prefix} log tail:\n${sim.log().slice(-2000)}`);
    return { lastBeat: NaN, beatSpreadMs: NaN, killAfterBeatS: NaN, steps: [], failure: String(e) };
  } finally {
    await Promise.all(sims.map((x) => x.kill()));
    await server.stop();
  }
}

console.log(`\nbramble failover benchmark — ${new Date().toISOString()}, ${cpuModel()}, ${navigator.hardwareConcurrency} cores, Bun ${Bun.version}`);
console.log(`server defaults: --node-monitor-grace-period 20s, --default-not-ready-toleration-seconds 10; sims: default --heartbeat-interval 10s`);
console.log(`Deployment of ${REPLICAS} replicas on sim A (${A_NODES} nodes), sim B (${B_NODES} nodes) joins after; sim A is SIGKILLed\n`);
const results: RunResult[] = [];
for (let i = 1; i <= RUNS; i++) results.push(await oneRun(i));

console.log(`\nseconds after sim A's last heartbeat (latest Lease renewTime of its nodes), first → last node or pod:`);
printTable(
  ["step", ...results.map((_, i) => `run ${i + 1}`)],
  (results[0]?.steps ?? []).map((step, k) => [step.name, ...results.map((r) => (r.steps[k] ? (r.steps[k]!.first === r.steps[k]!.last ? fmt(r.steps[k]!.first) : `${fmt(r.steps[k]!.first)} → ${fmt(r.steps[k]!.last)}`) : "-"))]),
);
console.log(`(spread of A's nodes' last renewTimes: ${results.map((r) => `${fmt(r.beatSpreadMs, 0)} ms`).join(", ")})`);

const stepAt = (r: RunResult, name: string) => r.steps.find((x) => x.name.startsWith(name))?.last;
console.log(`\nbreakdown (s):`);
printTable(
  ["run", "detection (beat → Unknown)", "taint", "eviction (→ last deleted)", "recreate (→ last created)", "schedule (→ last bound)", "start (→ last Running)", "total"],
  results.map((r, i) => {
    const d = stepAt(r, "detected");
    const t = stepAt(r, "unreachable");
    const e = stepAt(r, "pods evicted");
    const c = stepAt(r, "replacements created");
    const b = stepAt(r, "replacements bound");
    const run = stepAt(r, "replacements Running");
    const diff = (x?: number, y?: number) => (x !== undefined && y !== undefined ? fmt(x - y) : "-");
    return [`run ${i + 1}`, fmt(d), diff(t, d), diff(e, t), diff(c, e), diff(b, c), diff(run, b), r.totalS !== undefined ? fmt(r.totalS) : `failed: ${r.failure}`];
  }),
);

const upstream = UPSTREAM.graceS + UPSTREAM.tolerationS;
const worst = Math.max(...results.map((r) => r.totalS ?? Infinity));
console.log(`\nbaseline (analytic, not run): Kubernetes defaults = ${UPSTREAM.graceS} s grace (${UPSTREAM.graceS132} s since v1.32) + ${UPSTREAM.tolerationS} s default toleration = ${upstream}–${UPSTREAM.graceS132 + UPSTREAM.tolerationS} s before replacements are created`);
printTable(
  ["scenario", "s from last heartbeat to all Running elsewhere", "× upstream defaults"],
  [
    [`Kubernetes defaults (analytic: ${UPSTREAM.graceS} + ${UPSTREAM.tolerationS})`, `≥ ${upstream}`, "1.00"],
    ...results.map((r, i) => [`bramble defaults (20 + 10), run ${i + 1}`, fmt(r.totalS), fmt((r.totalS ?? NaN) / upstream, 3)]),
  ],
);
const ok = results.every((r) => r.totalS !== undefined && r.totalS <= TARGET_S);
console.log(`\ntarget: ≤ ${TARGET_S} s in every run — ${met(ok)} (worst ${fmt(worst)} s)`);
process.exitCode = ok ? 0 : 1;
