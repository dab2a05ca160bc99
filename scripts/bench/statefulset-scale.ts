// StatefulSet scale-up through the API: the real `bramble server` (libSQL file store, controllers
// and scheduler inside) + a `bramble sim` child with N simulated nodes. A StatefulSet created at 0
// replicas is scaled to R, timed until status.readyReplicas = R (as `kubectl rollout status`
// waits), once with podManagementPolicy OrderedReady (one pod at a time, each waiting for its
// predecessor to be Running and Ready) and once with Parallel.
//
// Same-run baseline: a Deployment scaled 0 → R on the same server and nodes, timed the same way:
// what the ReplicaSet controller does with the same pods, so the ratios say what the StatefulSet
// controller's ordering and per-pod identity cost on this machine today.
//   bun scripts/bench/statefulset-scale.ts [--nodes 10] [--replicas 100] [--timeout 300]
import { parseArgs } from "node:util";
import { apiClient } from "./lib/load.ts";
import { cpuModel } from "./lib/proc.ts";
import { startBenchServer } from "./lib/server.ts";
import { startBenchSim, waitSimReady } from "./lib/sim.ts";
import { printTable } from "./lib/table.ts";

const { values: args } = parseArgs({
  options: {
    nodes: { type: "string", default: "10" },
    replicas: { type: "string", default: "100" },
    timeout: { type: "string", default: "300" },
  },
});
const NODES = Number(args.nodes);
const REPLICAS = Number(args.replicas);
const TIMEOUT_MS = Number(args.timeout) * 1000;
const NS = "bench";
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
type Api = ReturnType<typeof apiClient>;

const container = { name: "app", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: "10m", memory: "16Mi" } } };
const template = (app: string) => ({ metadata: { labels: { app } }, spec: { terminationGracePeriodSeconds: 0, containers: [container] } });

async function must(res: Promise<Response>, what: string, status = 200): Promise<any> {
  const r = await res;
  const body = await r.text();
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${body.slice(0, 300)}`);
  return body ? JSON.parse(body) : undefined;
}

/** Scales the object at `path` to R through its scale subresource; ms until it reports R ready. */
async function scaleAndWait(api: Api, path: string): Promise<{ ms: number; ready: number }> {
  const t0 = performance.now();
  const r = await api.patch(`${path}/scale`, { spec: { replicas: REPLICAS } }, "application/merge-patch+json");
  if (r.status !== 200) throw new Error(`scale ${path}: ${r.status} ${await r.text()}`);
  let ready = 0;
  while (performance.now() - t0 < TIMEOUT_MS) {
    const obj = await must(api.get(path), `get ${path}`);
    ready = obj.status?.readyReplicas ?? 0;
    if (ready >= REPLICAS) return { ms: performance.now() - t0, ready };
    await Bun.sleep(50);
  }
  return { ms: NaN, ready };
}

async function main() {
  const server = await startBenchServer();
  const api = apiClient(server);
  const sim = startBenchSim(server, { nodes: NODES, prefix: "sim", cpu: "8", memory: "16Gi", pods: 110 });
  try {
    const readyMs = await waitSimReady(api, sim);
    console.log(`${NODES} simulated nodes Ready in ${fmt(readyMs, 0)} ms`);
    await must(api.post("/api/v1/namespaces", { metadata: { name: NS } }), "namespace", 201);

    const rows: { name: string; ms: number; ready: number }[] = [];
    const deployPath = `/apis/apps/v1/namespaces/${NS}/deployments/base`;
    await must(
      api.post(`/apis/apps/v1/namespaces/${NS}/deployments`, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "base" }, spec: { replicas: 0, selector: { matchLabels: { app: "base" } }, template: template("base") } }),
      "deployment",
      201,
    );
    rows.push({ name: "baseline: Deployment", ...(await scaleAndWait(api, deployPath)) });

    for (const policy of ["Parallel", "OrderedReady"]) {
      const name = policy.toLowerCase();
      const path = `/apis/apps/v1/namespaces/${NS}/statefulsets/${name}`;
      await must(
        api.post(`/apis/apps/v1/namespaces/${NS}/statefulsets`, {
          apiVersion: "apps/v1",
          kind: "StatefulSet",
          metadata: { name },
          spec: { replicas: 0, serviceName: name, podManagementPolicy: policy, selector: { matchLabels: { app: name } }, template: template(name) },
        }),
        `statefulset ${name}`,
        201,
      );
      rows.push({ name: `StatefulSet ${policy}`, ...(await scaleAndWait(api, path)) });
    }

    const base = rows[0]!.ms;
    console.log(`\nscale 0 → ${REPLICAS} until status.readyReplicas = ${REPLICAS}, ${NODES} simulated nodes (requests cpu 10m, memory 16Mi)`);
    printTable(
      ["what", "ready", "seconds", "pods/s", "time vs Deployment"],
      rows.map((r) => [r.name, `${r.ready}/${REPLICAS}`, fmt(r.ms / 1000), fmt((REPLICAS / r.ms) * 1000, 1), `${fmt(r.ms / base, 1)}x`]),
    );
    console.log("'-' = not all ready before the timeout");
    if (rows.some((r) => !Number.isFinite(r.ms))) process.exitCode = 1;
  } catch (e) {
    console.error(e);
    console.error(`server log tail:\n${server.log().slice(-3000)}`);
    process.exitCode = 1;
  } finally {
    await sim.kill("SIGTERM");
    await server.stop();
  }
}

console.log(`\nbramble StatefulSet scale benchmark — ${new Date().toISOString()}, ${cpuModel()}, ${navigator.hardwareConcurrency} cores, Bun ${Bun.version}`);
await main();
