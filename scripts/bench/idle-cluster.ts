// Idle disk writes of a *live* cluster: the real `bramble server` (libSQL file store) with
// `bramble sim --nodes 3` heartbeating (Lease renewals every 10 s, node status every 5 min) and a
// 30-replica Deployment Running on it. Bytes the server process sent to storage (write_bytes in
// /proc/<pid>/io) over an idle window, extrapolated to an hour. Target: ≤ 1 MB/hour.
// The window should cover at least one deferred-Lease flush (5 min) to be honest; default 10 min.
//   bun scripts/bench/idle-cluster.ts [--nodes 3] [--pods 30] [--idle-s 600] [--settle-s 45]
import { createClient } from "@libsql/client";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { apiClient } from "./lib/load.ts";
import { ioOf } from "./lib/proc.ts";
import { startBenchServer } from "./lib/server.ts";
import { startBenchSim, waitSimReady, type BenchSim } from "./lib/sim.ts";
import { met, printTable } from "./lib/table.ts";

const { values: args } = parseArgs({
  options: {
    nodes: { type: "string", default: "3" },
    pods: { type: "string", default: "30" },
    "idle-s": { type: "string", default: "600" },
    "settle-s": { type: "string", default: "45" },
  },
});
const NODES = Number(args.nodes);
const PODS = Number(args.pods);
const IDLE_MS = Number(args["idle-s"]) * 1000;
const SETTLE_MS = Number(args["settle-s"]) * 1000;
const TARGET_PER_HOUR = 1024 * 1024;

const server = await startBenchServer();
const api = apiClient(server);
let sim: BenchSim | undefined;
try {
  sim = startBenchSim(server, { nodes: NODES, prefix: "idle" });
  await waitSimReady(api, sim);
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "idle" },
    spec: {
      replicas: PODS,
      selector: { matchLabels: { app: "idle" } },
      template: { metadata: { labels: { app: "idle" } }, spec: { containers: [{ name: "c", image: "nginx:1.27-alpine", resources: { requests: { cpu: "10m", memory: "16Mi" } } }] } },
    },
  };
  const res = await api.post("/apis/apps/v1/namespaces/default/deployments", deployment);
  if (res.status !== 201) throw new Error(`deployment: ${res.status} ${await res.text()}`);
  for (let running = 0; running < PODS; await Bun.sleep(500)) {
    const list = (await (await api.get("/api/v1/namespaces/default/pods")).json()) as { items: { status?: { phase?: string } }[] };
    running = list.items.filter((p) => p.status?.phase === "Running").length;
  }
  console.log(`${NODES} nodes Ready, ${PODS} pods Running; settling ${SETTLE_MS / 1000} s, then ${IDLE_MS / 1000} s idle`);
  await Bun.sleep(SETTLE_MS);
  // What was written, read from the server's own database (a reader does not disturb it in WAL mode).
  const db = createClient({ url: `file:${join(server.dataDir, "server", "state.db")}` });
  const maxRevision = async () => Number((await db.execute("SELECT coalesce(max(revision), 0) AS r FROM kv")).rows[0]!.r);
  const startRevision = await maxRevision();
  const before = ioOf(server.pid);
  await Bun.sleep(IDLE_MS);
  const after = ioOf(server.pid);
  const rows = await db.execute({ sql: "SELECT key FROM kv WHERE revision > ?", args: [startRevision] });
  const byResource = new Map<string, number>();
  for (const r of rows.rows) {
    const resource = String(r.key).split("/").slice(2, 5).join("/"); // group/resource/namespace (or name)
    byResource.set(resource, (byResource.get(resource) ?? 0) + 1);
  }
  db.close();
  const bytes = after.writeBytes - before.writeBytes;
  const perHour = (bytes * 3_600_000) / IDLE_MS;
  console.log(`\nbramble server idle disk writes with ${NODES} heartbeating sim nodes and ${PODS} pods — ${new Date().toISOString()}, Bun ${Bun.version}`);
  printTable(
    ["window s", "write_bytes KB", "→ MB/hour", "wchar KB", "write calls", "target", "result"],
    [[String(IDLE_MS / 1000), (bytes / 1024).toFixed(1), (perHour / 1024 / 1024).toFixed(2), ((after.wchar - before.wchar) / 1024).toFixed(1), String(after.syscw - before.syscw), "≤ 1 MB/h", met(perHour <= TARGET_PER_HOUR)]],
  );
  console.log(`rows written in the window: ${rows.rows.length} (${[...byResource].map(([r, n]) => `${r} ${n}`).join(", ") || "none"})`);
  process.exitCode = perHour <= TARGET_PER_HOUR ? 0 : 1;
} catch (e) {
  console.error(e);
  console.error(`server log tail:\n${server.log().slice(-3000)}\nsim log tail:\n${sim?.log().slice(-2000) ?? ""}`);
  process.exitCode = 2;
} finally {
  await sim?.kill("SIGTERM");
  await server.stop();
}
