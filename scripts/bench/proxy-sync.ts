// Service proxy: how long bramble takes to program Services into iptables, in a network
// namespace the bench creates (bpx-bench-*, removed afterwards; root only).
//   1. Full sync of S Services × E endpoints (render + sweep of stale chains + iptables-restore +
//      jump check), against a same-run bare `iptables-restore --noflush` of the same text.
//      Target ≤ 1 s.
//   2. One changed Service among them (an endpoint replaced): the partial sync, against a bare
//      `iptables-restore --noflush` of the same partial text. Target ≤ 50 ms.
//   3. Programming latency: an EndpointSlice update written to a real API server (in process, over
//      HTTP) → the restore carrying it has exited 0 (the rule is in the kernel), p50/p99 over N
//      changes, with the S Services in place.
//   bun scripts/bench/proxy-sync.ts [--services 1000] [--endpoints 5] [--changes 50] [--repeat 5]
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { DEFAULT_CLUSTER_NETWORK } from "../../src/api/cluster-network.ts";
import { namespaces as namespacesDef, type Namespace } from "../../src/api/resources/core/namespace.ts";
import { endpointSlices as slicesDef, type EndpointSlice } from "../../src/api/resources/discovery/endpointslice.ts";
import { services as servicesDef, type Service } from "../../src/api/resources/core/service.ts";
import type { CommandRunner } from "../../src/agent/host/run.ts";
import { endpointSlice, service } from "../../src/agent/proxy/fixtures.ts";
import { canRunNetnsLab, createNetnsLab, LAB } from "../../src/agent/proxy/netns-lab.ts";
import { startServiceProxy } from "../../src/agent/proxy/proxy.ts";
import { renderAllServices, renderContext, renderFull } from "../../src/agent/proxy/render.ts";
import { ProxySyncer } from "../../src/agent/proxy/syncer.ts";
import { createLogger } from "../../src/machinery/log.ts";
import { startHttpTestApi } from "../../src/server/apiserver/testing.ts";
import { cpuModel } from "./lib/proc.ts";
import { met, percentile, printTable } from "./lib/table.ts";

const { values: args } = parseArgs({
  options: {
    services: { type: "string", default: "1000" },
    endpoints: { type: "string", default: "5" },
    changes: { type: "string", default: "50" },
    repeat: { type: "string", default: "5" },
  },
});
const S = Number(args.services);
const E = Number(args.endpoints);
const CHANGES = Number(args.changes);
const REPEAT = Number(args.repeat);
if (!canRunNetnsLab()) {
  console.error("proxy-sync: needs root, ip, nsenter and iptables-restore");
  process.exit(1);
}

const ms = (x: number) => x.toFixed(1);
const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 0.5);
const cluster = { ...DEFAULT_CLUSTER_NETWORK, clusterCidr: LAB.clusterCidr, serviceCidr: LAB.serviceCidr };
const ctx = renderContext({ nodeName: "node-a", cluster });
const svcIp = (i: number) => `10.43.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`;
const epIp = (i: number, j: number, gen = 0) => `10.42.${(i * E + j) % 250}.${(Math.floor((i * E + j) / 250) + gen * 40) % 250 + 1}`;

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const v = await f();
  return [performance.now() - t, v];
}

console.log(`proxy-sync: ${S} Services × ${E} endpoints; ${cpuModel()}; ${(await Bun.$`iptables --version`.text()).trim()}; load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}\n`);

// ---- 1 and 2: the syncer on in-memory objects ----------------------------------------------------
const lab = await createNetnsLab("bpx-bench", { endpointAndClient: false });
const rows: (string | number)[][] = [];
let fullMedian = 0;
let partialP50 = 0;
let legacyFull = NaN;
let fullSteps = "";
try {
  const svcs = new Map<string, Service>();
  const eps = new Map<string, EndpointSlice>();
  for (let i = 0; i < S; i++) {
    const name = `svc-${i}`;
    svcs.set(`bench/${name}`, service("bench", name, svcIp(i), i % 10 === 0 ? { type: "NodePort", ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30000 + i }] } : {}));
    eps.set(`bench/${name}`, endpointSlice("bench", name, Array.from({ length: E }, (_, j) => ({ ip: epIp(i, j), node: j === 0 ? "node-a" : "node-b" }))));
  }
  let lastRestore = "";
  const recording: CommandRunner = (argv, stdin) => {
    if (argv[0] === "iptables-restore") lastRestore = stdin ?? "";
    return lab.runNode(argv, stdin);
  };
  const syncer = new ProxySyncer(recording, { services: () => svcs.values(), service: (k) => svcs.get(k), slices: (k) => (eps.has(k) ? [eps.get(k)!] : undefined) }, ctx);
  const bare = async (text: string) => {
    const r = await lab.runNode(["iptables-restore", "--noflush", "-w", "5"], text);
    if (r.code !== 0) throw new Error(r.stderr);
  };

  const [renderMs, parts] = await timed(async () => renderAllServices({ services: [...svcs.values()], slices: [...eps.values()], nodeName: "node-a", nodeIps: [], cluster }));
  const fullText = renderFull(parts, ctx);
  const [firstMs] = await timed(() => syncer.sync());
  const rules = fullText.split("\n").filter((l) => l.startsWith("-A")).length;
  console.log(`rule set: ${rules} rules, ${parts.reduce((n, p) => n + p.chains.size, 0)} per-Service chains, ${(fullText.length / 1024).toFixed(0)} KiB; render alone ${ms(renderMs)} ms; first full sync (empty tables) ${ms(firstMs)} ms\n`);

  const fulls: number[] = [];
  const bareFulls: number[] = [];
  const steps: Record<string, number[]> = { saveMs: [], renderMs: [], restoreMs: [], jumpsMs: [] };
  for (let r = 0; r < REPEAT; r++) {
    syncer.markFull();
    const [t, res] = await timed(() => syncer.sync());
    fulls.push(t);
    for (const [k, v] of Object.entries(res.steps ?? {})) steps[k]!.push(v);
    bareFulls.push((await timed(() => bare(lastRestore)))[0]);
  }
  fullMedian = median(fulls);
  rows.push(["full sync", ms(median(fulls)), ms(Math.max(...fulls)), ms(median(bareFulls)), (median(fulls) / median(bareFulls)).toFixed(2), `${(lastRestore.length / 1024).toFixed(0)} KiB`]);
  fullSteps = Object.entries(steps).map(([k, v]) => `${k.replace("Ms", "")} ${ms(median(v))}`).join(", ");
  // For reference only: the same text through the legacy (x_tables) backend, in a namespace of
  // its own. bramble uses whatever `iptables` is (nf_tables here), as Docker does: rules in the
  // other backend would not see Docker's FORWARD policy.
  if (Bun.which("iptables-legacy-restore")) {
    const legacyLab = await createNetnsLab("bpx-bench", { endpointAndClient: false });
    try {
      const legacy: number[] = [];
      for (let r = 0; r < REPEAT; r++) {
        const [t, res] = await timed(() => legacyLab.runNode(["iptables-legacy-restore", "--noflush", "-w", "5"], lastRestore));
        if (res.code !== 0) throw new Error(res.stderr);
        legacy.push(t);
      }
      legacyFull = median(legacy);
    } finally {
      await legacyLab.destroy();
    }
  }

  const partials: number[] = [];
  const bareParts: number[] = [];
  let bytes = 0;
  for (let c = 0; c < Math.max(20, REPEAT); c++) {
    const i = (c * 37) % S;
    const key = `bench/svc-${i}`;
    // One endpoint replaced: that Service's SVC chain is rewritten.
    eps.set(key, endpointSlice("bench", `svc-${i}`, Array.from({ length: E }, (_, j) => ({ ip: j === E - 1 ? epIp(i, j, c + 1) : epIp(i, j), node: j === 0 ? "node-a" : "node-b" }))));
    syncer.markDirty(key);
    const [t, r] = await timed(() => syncer.sync());
    if (r.kind !== "partial") throw new Error(`expected a partial sync, got ${r.kind}`);
    partials.push(t);
    bytes = lastRestore.length;
    // The same text again (declared chains are flushed and rewritten; a deleted chain is created and deleted again).
    bareParts.push((await timed(() => bare(lastRestore)))[0]);
  }
  partialP50 = median(partials);
  rows.push(["one Service changed", ms(median(partials)), ms(Math.max(...partials)), ms(median(bareParts)), (median(partials) / median(bareParts)).toFixed(2), `${bytes} B`]);
} finally {
  await lab.destroy();
}
printTable(["sync", "bramble p50 ms", "max ms", "bare iptables-restore p50 ms", "ratio", "restore input"], rows);
console.log(`(full sync steps, p50 ms: ${fullSteps})`);
if (!Number.isNaN(legacyFull)) console.log(`(reference: the full text through iptables-legacy-restore: ${ms(legacyFull)} ms)`);

// ---- 3: programming latency through the API --------------------------------------------------
const lab2 = await createNetnsLab("bpx-bench", { endpointAndClient: false });
const env = await startHttpTestApi({ serviceCidr: LAB.serviceCidr });
const latencies: number[] = [];
try {
  const svcApi = env.client.resource<Service>(servicesDef);
  const epApi = env.client.resource<EndpointSlice>(slicesDef);
  const strip = <T extends Service | EndpointSlice>(o: T): T => ({ ...o, metadata: { name: o.metadata.name, namespace: o.metadata.namespace, labels: o.metadata.labels } });
  await env.client.resource<Namespace>(namespacesDef).create(undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } } as Namespace);
  const [createMs] = await timed(async () => {
    for (let i = 0; i < S; i += 50)
      await Promise.all(
        Array.from({ length: Math.min(50, S - i) }, async (_, k) => {
          const n = i + k;
          const { clusterIP: _ip, clusterIPs: _ips, ...spec } = service("bench", `svc-${n}`, "").spec!;
          await svcApi.create("bench", strip({ ...service("bench", `svc-${n}`, ""), spec }));
          await epApi.create("bench", strip(endpointSlice("bench", `svc-${n}`, Array.from({ length: E }, (_, j) => ({ ip: epIp(n, j), node: "node-a" })))));
        }),
      );
  });
  const waiters = new Map<string, (t: number) => void>();
  const run: CommandRunner = async (argv, stdin) => {
    const r = await lab2.runNode(argv, stdin);
    if (argv[0] === "iptables-restore" && r.code === 0 && stdin) {
      const now = performance.now();
      for (const [ip, w] of waiters) if (stdin.includes(`--to-destination ${ip}:`)) w(now);
    }
    return r;
  };
  const [startMs, proxy] = await timed(() => startServiceProxy({ client: env.client, nodeName: "node-a", nodeIps: [], cluster, run, log: createLogger("proxy", { level: "warn" }) }));
  console.log(`\nprogramming latency: ${S} Services (created in ${ms(createMs)} ms), proxy start with first full sync ${ms(startMs)} ms`);
  for (let c = 0; c < CHANGES; c++) {
    const i = (c * 53) % S;
    const ip = `10.42.251.${(c % 250) + 1}`;
    const current = await epApi.get("bench", `svc-${i}-fixture`);
    const seen = new Promise<number>((resolve) => waiters.set(ip, resolve));
    const t0 = performance.now();
    await epApi.update({ ...current, endpoints: [...current.endpoints!.slice(0, E - 1), { addresses: [ip], conditions: { ready: true }, nodeName: "node-a" }] });
    latencies.push((await Promise.race([seen, Bun.sleep(10_000).then(() => NaN)])) - t0);
    waiters.delete(ip);
    await Bun.sleep(20);
  }
  await proxy.stop();
} finally {
  await env.stop();
  await lab2.destroy();
}
const sorted = latencies.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
printTable(["endpoint change → rule in kernel", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "missed (>10 s)"], [
  ["API write → restore exited 0", sorted.length, ms(percentile(sorted, 0.5)), ms(percentile(sorted, 0.9)), ms(percentile(sorted, 0.99)), ms(sorted.at(-1) ?? NaN), latencies.length - sorted.length],
]);

console.log(`\ntarget full sync ≤ 1 s: ${ms(fullMedian)} ms — ${met(fullMedian <= 1000)}`);
console.log(`target one Service ≤ 50 ms: ${ms(partialP50)} ms — ${met(partialP50 <= 50)}`);
