// How much of the memory benchmark's RSS is the objects and how much the burst that created them:
// one `bramble server` (libSQL file store, no agent) creates 10,000 objects (5,000 ConfigMaps,
// 5,000 Pods, as memory.ts) over HTTPS and settles 45 s; then it is restarted on the same data
// directory, so the same objects are loaded from the database with no burst. Same-run baseline:
// the fresh server's idle RSS. The difference between "settled" and "restarted" is what the
// allocators kept from the burst; "restarted" minus "fresh" is what the live objects cost.
//   bun scripts/bench/memory-restart.ts [path to a compiled bramble binary]
import { spawn } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readKubeconfig, resolveContext } from "../../src/client/kubeconfig.ts";
import { apiClient, runLoad } from "./lib/load.ts";
import { mb, memoryOf } from "./lib/proc.ts";
import { freePort } from "./lib/server.ts";
import { printTable } from "./lib/table.ts";
import { benchConfigMap, benchPod } from "./lib/objects.ts";
const bin = process.argv[2];
const dataDir = mkdtempSync("/tmp/bramble-restart-");
const rows: string[][] = [];
const sample = (label: string, pid: number) => rows.push([label, mb(memoryOf(pid).rss)]);
async function start() {
  const port = freePort();
  const cmd = [...(bin ? [bin] : [process.execPath, join(import.meta.dir, "../../src/main.ts")]), "server", "--data-dir", dataDir, "--https-listen-port", String(port), "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--disable-agent"];
  const proc = spawn({ cmd, stdout: "ignore", stderr: "ignore", env: { ...process.env, BRAMBLE_LOG_LEVEL: "warn" } });
  for (;;) {
    await Bun.sleep(300);
    try {
      const c = resolveContext(readKubeconfig(join(dataDir, "server", "admin.kubeconfig")));
      const r = await fetch(`https://127.0.0.1:${port}/readyz`, { tls: { ca: c.caCertPem } } as RequestInit);
      if (r.ok) return { proc, api: apiClient({ url: `https://127.0.0.1:${port}`, token: c.token!, caCertPem: c.caCertPem! }) };
    } catch {}
  }
}
let { proc, api } = await start();
await Bun.sleep(10_000);
sample("fresh server, idle 10 s (baseline)", proc.pid);
for (let n = 0; n < 10; n++) await api.post("/api/v1/namespaces", { metadata: { name: `bench-${n}` } });
await runLoad({ name: "c", clients: 32, maxRequests: 10000, expect: 201, request: (_, i) => i % 2 ? api.post(`/api/v1/namespaces/bench-${i % 10}/pods`, benchPod(`pod-${i}`, i)) : api.post(`/api/v1/namespaces/bench-${i % 10}/configmaps`, benchConfigMap(`cm-${i}`, i)) });
sample("right after 10,000 creates", proc.pid);
await Bun.sleep(45_000);
sample("10,000 objects, 45 s settle", proc.pid);
proc.kill("SIGTERM"); await proc.exited;
({ proc } = await start());
for (const s of [15, 30, 45]) {
  await Bun.sleep(15_000);
  sample(`restarted on the 10,000 objects, ${s} s`, proc.pid);
}
proc.kill("SIGTERM");
await proc.exited;
rmSync(dataDir, { recursive: true, force: true });
console.log(`\nbramble server RSS: burst vs the same objects loaded at start (${bin ? `binary ${bin}` : "bun src/main.ts"}), ${new Date().toISOString()}\n`);
printTable(["moment", "RSS MB"], rows);
