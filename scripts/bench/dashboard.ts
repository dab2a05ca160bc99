// The web dashboard's cost to the server and its delay, with a real `bramble server`, simulated
// nodes (`bramble sim`) and headless Chromium over the DevTools protocol (tests/helpers/chromium.ts):
//   1. Server RSS with /dashboard/ open, logged in with the admin token, on the memory benchmark's
//      10,000 objects (5,000 ConfigMaps + 5,000 Pods, scripts/bench/lib/objects.ts) — the Pods
//      Running on simulated nodes (200 per node: a node's pod CIDR is a /24), so the page draws
//      5,000 Running pods and 26 node bins.
//      Same-run baseline: the same server with no page open, settled, before the page is opened
//      and again after it is closed.
//   2. Time from a Deployment scale-up (PATCH of its scale subresource) to the page's pod table
//      showing every new pod Running (a MutationObserver in the page records Date.now() when the
//      count is reached), vs the time until a plain API watch on the pods sees them all Running
//      (the same-run baseline). Both clocks are this machine's wall clock.
//   bun scripts/bench/dashboard.ts [--objects 10000] [--nodes 26] [--settle-s 30] [--window-s 10]
//                                  [--scale-ups 5] [--step 10]
import { parseArgs } from "node:util";
import { launchChromium } from "../../tests/helpers/chromium.ts";
import { apiClient, runLoad } from "./lib/load.ts";
import { cpuModel, cpuMsOf, mb, memoryOf, sourceVersion } from "./lib/proc.ts";
import { startBenchServer, type BenchServer } from "./lib/server.ts";
import { startBenchSim, waitSimReady } from "./lib/sim.ts";
import { percentile, printTable } from "./lib/table.ts";
import { benchConfigMap, benchPod } from "./lib/objects.ts";
import { openWatch } from "./lib/watch.ts";

const { values: args } = parseArgs({
  options: {
    objects: { type: "string", default: "10000" },
    nodes: { type: "string" },
    "settle-s": { type: "string", default: "30" },
    "window-s": { type: "string", default: "10" },
    "scale-ups": { type: "string", default: "5" },
    step: { type: "string", default: "10" },
  },
});
const OBJECTS = Number(args.objects);
const POD_COUNT = Math.floor(OBJECTS / 2);
/** A simulated node's pod CIDR is a /24: at most ~250 pods each; 200 each, plus one for the scale-ups. */
const NODES = args.nodes ? Number(args.nodes) : Math.ceil(POD_COUNT / 200) + 1;
const SETTLE_MS = Number(args["settle-s"]) * 1000;
const WINDOW_MS = Number(args["window-s"]) * 1000;
const SCALE_UPS = Number(args["scale-ups"]);
const STEP = Number(args.step);
const NAMESPACES = 10;
const NS = "dash";
const DEPLOY = "scale";

async function until<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs: number, intervalMs = 100): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v) return v;
    if (performance.now() > end) throw new Error(`timed out (${timeoutMs / 1000} s) waiting for ${what}`);
    await Bun.sleep(intervalMs);
  }
}

/** Settles `ms`, then samples RSS and CPU every second over the window: last, max, CPU % of one core. */
async function measure(server: BenchServer) {
  await Bun.sleep(SETTLE_MS);
  const samples: number[] = [];
  const t0 = performance.now();
  const cpu0 = cpuMsOf(server.pid);
  for (const end = t0 + WINDOW_MS; performance.now() < end; await Bun.sleep(1000)) samples.push(memoryOf(server.pid).rss);
  const cpuPct = ((cpuMsOf(server.pid) - cpu0) / (performance.now() - t0)) * 100;
  return { last: samples.at(-1)!, max: Math.max(...samples), cpuPct };
}

const server = await startBenchServer();
const sim = startBenchSim(server, { nodes: NODES, cpu: "64", memory: "1Ti", pods: 240, args: ["--heartbeat-interval", "10s"] });
const api = apiClient(server);
let page: Awaited<ReturnType<typeof launchChromium>> | undefined;
try {
  await waitSimReady(api, sim);
  for (const ns of [...Array.from({ length: NAMESPACES }, (_, n) => `bench-${n}`), NS]) {
    const r = await api.post("/api/v1/namespaces", { metadata: { name: ns } });
    if (r.status !== 201) throw new Error(`namespace ${ns}: ${r.status} ${await r.text()}`);
  }
  const load = await runLoad({
    name: "create",
    clients: 32,
    maxRequests: OBJECTS,
    expect: 201,
    request: (_, i) => {
      const ns = `bench-${i % NAMESPACES}`;
      return i % 2 === 0 ? api.post(`/api/v1/namespaces/${ns}/configmaps`, benchConfigMap(`cm-${i}`, i)) : api.post(`/api/v1/namespaces/${ns}/pods`, benchPod(`pod-${i}`, i));
    },
  });
  if (load.errors) throw new Error(`${load.errors} of ${OBJECTS} creates failed; first: ${load.firstError}`);
  const running = async () => ((await (await api.get("/api/v1/pods?fieldSelector=status.phase%3DRunning")).json()) as { items: unknown[] }).items.length;
  await until(`${POD_COUNT} pods Running`, async () => (await running()) >= POD_COUNT, 300_000, 2000);
  const r = await api.post(`/apis/apps/v1/namespaces/${NS}/deployments`, {
    metadata: { name: DEPLOY },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: DEPLOY } },
      template: { metadata: { labels: { app: DEPLOY } }, spec: { containers: [{ name: "web", image: "nginx:1.27-alpine", resources: { requests: { cpu: "10m", memory: "16Mi" } } }] } },
    },
  });
  if (r.status !== 201) throw new Error(`deployment: ${r.status} ${await r.text()}`);

  // 1. RSS with no page, with the page open, and after it closed.
  const before = await measure(server);
  page = await launchChromium();
  await page.viewport(1280, 900);
  const tOpen = performance.now();
  await page.navigate(`${server.url}/dashboard/`);
  await page.evaluate(`(() => { document.querySelector("#token").value = ${JSON.stringify(server.token)}; document.querySelector("#login button[type=submit]").click(); })()`);
  await page.waitFor("logged in", `document.querySelector("#who").textContent.includes("system:admin")`, 30_000);
  await page.waitFor(`${POD_COUNT} pods in the table`, `document.querySelectorAll("#pods tbody tr").length >= ${POD_COUNT}`, 120_000);
  const drawnMs = performance.now() - tOpen;
  const bins = await page.evaluate<number>(`document.querySelectorAll("[data-node]").length`);
  const open = await measure(server);
  const heap = await page.evaluate<number>(`performance.memory ? performance.memory.usedJSHeapSize : 0`);

  // 2. Scale-ups: the page vs a plain watch.
  const runningAt = new Map<string, number>(); // pod name → Date.now() the watch saw it Running
  const watch = openWatch(`${server.url}/api/v1/namespaces/${NS}/pods?watch=1&labelSelector=app%3D${DEPLOY}`, { headers: { authorization: `Bearer ${server.token}`, accept: "application/json" }, tls: { ca: server.caCertPem } } as RequestInit, (e, pod) => {
    if (e.type === "DELETED") runningAt.delete(e.name);
    else if (pod.status?.phase === "Running" && !runningAt.has(e.name)) runningAt.set(e.name, Date.now());
  }, { keep: false });
  await page.evaluate(`(() => {
    window.__bench = { target: 0, at: 0 };
    const count = () => document.querySelectorAll('#pods tbody tr[data-pod^="${NS}/${DEPLOY}-"][data-status="Running"]').length;
    new MutationObserver(() => { if (window.__bench.target && !window.__bench.at && count() >= window.__bench.target) window.__bench.at = Date.now(); })
      .observe(document.querySelector("#pods tbody"), { childList: true, subtree: true, attributes: true });
  })()`);
  const apiMs: number[] = [];
  const pageMs: number[] = [];
  for (let k = 1; k <= SCALE_UPS; k++) {
    const target = k * STEP;
    await page.evaluate(`(window.__bench = { target: ${target}, at: 0 }, true)`);
    const t0 = Date.now();
    const res = await api.patch(`/apis/apps/v1/namespaces/${NS}/deployments/${DEPLOY}/scale`, { spec: { replicas: target } });
    if (res.status !== 200) throw new Error(`scale to ${target}: ${res.status} ${await res.text()}`);
    const watched = await until(`the watch to see ${target} pods Running`, async () => runningAt.size >= target && Math.max(...runningAt.values()), 60_000);
    const shown = await until(`the page to show ${target} pods Running`, () => page!.evaluate<number>("window.__bench.at"), 60_000);
    apiMs.push(watched - t0);
    pageMs.push(shown - t0);
    await Bun.sleep(2000);
  }
  watch.stop();

  await page.close();
  page = undefined;
  const after = await measure(server);

  console.log(`\nbramble server with the web dashboard open — ${new Date().toISOString()}, ${cpuModel()}, ${navigator.hardwareConcurrency} cores, Bun ${Bun.version}, bramble ${sourceVersion()} (bun src/main.ts)`);
  console.log(`${OBJECTS} objects: ${OBJECTS / 2} ConfigMaps + ${POD_COUNT} Pods (Running on ${NODES} simulated nodes), created at ${load.rate.toFixed(0)}/s; the page drew ${bins} node bins and ${POD_COUNT}+ pod rows ${(drawnMs / 1000).toFixed(1)} s after navigating; page JS heap ${mb(heap)} MB`);
  console.log(`server RSS, MB: last sample / max over ${WINDOW_MS / 1000} s after ${SETTLE_MS / 1000} s settle; CPU % of one core over the window\n`);
  printTable(
    ["server state", "RSS MB", "× no page (before)", "CPU %"],
    [
      ["no page open (baseline, before)", `${mb(before.last)} / ${mb(before.max)}`, "1.00", before.cpuPct.toFixed(1)],
      ["dashboard open, logged in", `${mb(open.last)} / ${mb(open.max)}`, (open.max / before.max).toFixed(2), open.cpuPct.toFixed(1)],
      [`no page open (after close, incl. ${SCALE_UPS * STEP} more pods)`, `${mb(after.last)} / ${mb(after.max)}`, (after.max / before.max).toFixed(2), after.cpuPct.toFixed(1)],
    ],
  );
  const s = (xs: number[]) => [...xs].sort((a, b) => a - b);
  console.log(`\nscale-up → every new pod Running, ms, over ${SCALE_UPS} scale-ups of +${STEP} replicas (per run: ${apiMs.map((a, i) => `${a}/${pageMs[i]}`).join(", ")})\n`);
  printTable(
    ["seen by", "p50 ms", "max ms", "× watch (p50)"],
    [
      ["API watch on the pods (baseline)", percentile(s(apiMs), 0.5), Math.max(...apiMs), "1.00"],
      ["dashboard page's pod table", percentile(s(pageMs), 0.5), Math.max(...pageMs), (percentile(s(pageMs), 0.5) / percentile(s(apiMs), 0.5)).toFixed(2)],
      ["page − watch (per scale-up)", percentile(s(pageMs.map((p, i) => p - apiMs[i]!)), 0.5), Math.max(...pageMs.map((p, i) => p - apiMs[i]!)), "-"],
    ],
  );
} catch (e) {
  console.error(e);
  console.error(`server log tail:\n${server.log().slice(-3000)}\nsim log tail:\n${sim.log().slice(-2000)}`);
  process.exitCode = 2;
} finally {
  await page?.close().catch(() => {});
  await sim.kill();
  await server.stop();
}
