// Memory of a real node: RSS (VmRSS, /proc/<pid>/status) of
//   1. a separate `bramble agent` process, joined to a `bramble server --disable-agent` with the
//      printed join command (`bramble token create --print-join-command`), running N pods on this
//      machine's Docker engine. Target: ≤ 60 MB (k3s' agent: ~270 MB);
//   2. a `bramble server` with its embedded agent running N pods. Target: ≤ 130 MB.
// Same-run baseline: a bare `bun -e 'setInterval(() => {}, 1000)'` (what the runtime costs by
// itself). Pods: bramble/busybox:test, `sleep 3600`, pinned to the node with spec.nodeName.
// RSS is sampled every second over a window after the pods have been Running for a while.
//
// The Docker engine may be shared: the agent gets a unique node name, the embedded agent (named
// after the hostname) runs in its own UTS namespace with a unique hostname (unshare --uts, root
// only), and cleanup removes only containers labelled with those nodes.
//   bun scripts/bench/agent-memory.ts [--pods 30] [--settle-s 15] [--window-s 10] [--binary dist/bramble] [--smol] [--metrics]
// --smol runs every bramble process with Bun's smaller heap (BUN_OPTIONS=--smol; the baseline too).
// --metrics reads metrics.k8s.io every 2 s while the pods run, so the agents sample their cgroups.
// CPU: each process's user + system time (/proc/<pid>/stat) from the end of the pods' start-up to the
// end of the window (settle + window), as ms and as % of one core; run once without and once with
// --metrics for the cost of metrics collection.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ensureTestImage, TEST_IMAGE } from "../../src/agent/images/testimage.ts";
import { DockerRuntime, DEFAULT_DOCKER_SOCKET } from "../../src/agent/runtime/docker/docker.ts";
import { readKubeconfig, resolveContext } from "../../src/client/kubeconfig.ts";
import { cpuMsOf, mb, memoryOf, rssByMapping, sourceVersion } from "./lib/proc.ts";
import { freePort } from "./lib/server.ts";
import { met, printTable } from "./lib/table.ts";
import { startChild, type Child } from "./lib/child.ts";

const { values: args } = parseArgs({
  options: {
    pods: { type: "string", default: "30" },
    "settle-s": { type: "string", default: "15" },
    "window-s": { type: "string", default: "10" },
    binary: { type: "string" },
    smol: { type: "boolean", default: false },
    metrics: { type: "boolean", default: false },
  },
});
const PODS = Number(args.pods);
const SETTLE_MS = Number(args["settle-s"]) * 1000;
const WINDOW_MS = Number(args["window-s"]) * 1000;
const REPO = resolve(import.meta.dir, "../..");
const RUN = Date.now().toString(36);
const AGENT_NODE = `bench-agent-${RUN}`;
const ROOT = process.getuid?.() === 0;
const EMBEDDED_NODE = ROOT ? `bench-emb-${RUN}` : hostname().toLowerCase();
const NS = "bench";
const AGENT_TARGET = 60 * 1024 * 1024;
const SERVER_TARGET = 130 * 1024 * 1024;
/**
 * The pod network, Service proxy and cluster DNS would program this shared host's routes and
 * iptables (tests/helpers/server.ts runs servers the same way): off here, so the agent measured
 * is kubelet, node status, heartbeat and the logs/exec endpoint. Measure networking in the lab.
 */
const HOST_SAFE_NETWORKING = ["--flannel-backend=none", "--disable-kube-proxy", "--disable=coredns"];
const BRAMBLE = args.binary ? [resolve(args.binary)] : [process.execPath, join(REPO, "src/main.ts")];

const work = mkdtempSync(join(tmpdir(), "bramble-bench-am-"));

function sh(cmd: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync({ cmd, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}
const containersOf = (node: string) => sh(["docker", "ps", "-aq", "--filter", `label=io.bramble.node=${node}`]).out.split("\n").filter(Boolean);
function removeContainersOf(node: string): number {
  const ids = containersOf(node);
  for (let i = 0; i < ids.length; i += 50) sh(["docker", "rm", "-f", "-v", ...ids.slice(i, i + 50)]);
  return ids.length;
}

const run = (cmd: string[], env: Record<string, string> = {}): Child => startChild(cmd, { ...(args.smol ? { BUN_OPTIONS: "--smol" } : {}), ...env });

interface Api {
  url: string;
  kubeconfig: string;
  init: RequestInit;
  get(path: string): Promise<any>;
  post(path: string, body: unknown): Promise<Response>;
}

/** `bramble server` on a fresh data dir and a free port; with the embedded agent unless --disable-agent. */
async function startServer(name: string, extra: string[], nodeName?: string): Promise<{ p: Child; api: Api; dataDir: string }> {
  const dataDir = join(work, name);
  const kubeconfig = join(dataDir, "server", "admin.kubeconfig");
  const port = freePort();
  const inner = [...BRAMBLE, "server", "--data-dir", dataDir, "--https-listen-port", String(port), "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", ...HOST_SAFE_NETWORKING, ...extra];
  // unshare without --fork execs: the pid is the server's.
  const cmd = nodeName && nodeName !== hostname().toLowerCase() ? ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', nodeName, ...inner] : inner;
  const p = run(cmd, { BRAMBLE_KUBELET_PORT: "0" });
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    if (p.proc.exitCode !== null || p.proc.signalCode !== null) throw new Error(`server exited (${p.proc.exitCode ?? p.proc.signalCode}):\n${p.log()}`);
    if (existsSync(kubeconfig)) {
      const c = resolveContext(readKubeconfig(kubeconfig));
      const res = await fetch(`https://127.0.0.1:${port}/readyz`, { tls: { ca: c.caCertPem } }).catch(() => undefined);
      if (res?.ok) {
        const init = { headers: { authorization: `Bearer ${c.token}`, accept: "application/json", "content-type": "application/json" }, tls: { ca: c.caCertPem } } as RequestInit;
        const api: Api = {
          url: c.server,
          kubeconfig,
          init,
          get: async (path) => {
            const r = await fetch(c.server + path, init);
            return r.ok ? r.json() : undefined;
          },
          post: (path, body) => fetch(c.server + path, { ...init, method: "POST", body: JSON.stringify(body) }),
        };
        return { p, api, dataDir };
      }
    }
    await Bun.sleep(50);
  }
  throw new Error(`server not ready in 30 s:\n${p.log()}`);
}

async function until(what: string, f: () => Promise<boolean>, timeoutMs: number, log: () => string) {
  const end = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out (${timeoutMs / 1000} s) waiting for ${what}\n${log().slice(-3000)}`);
    await Bun.sleep(250);
  }
}

const nodeReady = (api: Api, node: string) => async () => {
  const n = await api.get(`/api/v1/nodes/${node}`).catch(() => undefined);
  return !!n?.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True");
};

/** N sleeping pods pinned to `node`; resolves when all are Running. */
async function runPods(api: Api, node: string, log: () => string) {
  const ns = await api.post("/api/v1/namespaces", { metadata: { name: NS } });
  if (ns.status !== 201) throw new Error(`namespace: ${ns.status} ${await ns.text()}`);
  await until("the default service account", async () => !!(await api.get(`/api/v1/namespaces/${NS}/serviceaccounts/default`)), 20_000, log);
  await Promise.all(
    Array.from({ length: PODS }, async (_, i) => {
      const pod = {
        metadata: { name: `p${i}` },
        spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sleep", "3600"] }] },
      };
      const r = await api.post(`/api/v1/namespaces/${NS}/pods`, pod);
      if (r.status !== 201) throw new Error(`pod p${i}: ${r.status} ${await r.text()}`);
    }),
  );
  await until(`${PODS} pods Running`, async () => {
    const list = await api.get(`/api/v1/namespaces/${NS}/pods`);
    return (list?.items ?? []).filter((p: any) => p.status?.phase === "Running").length === PODS;
  }, 180_000, log);
}

/** Deletes the pods and waits (≤ 30 s) for the node's containers to go, while its agent still runs. */
async function deletePods(api: Api, node: string) {
  sh(["kubectl", "--kubeconfig", api.kubeconfig, "--cache-dir", join(work, "kube-cache"), "--request-timeout=10s", "delete", "pods", "--all", "-n", NS, "--grace-period=1", "--wait=false"]);
  const end = Date.now() + 30_000;
  while (Date.now() < end && containersOf(node).length > 0) await Bun.sleep(500);
}

/** The most pods one metrics.k8s.io answer listed (shows the agents really reported). */
let metricsPods = 0;
/** With --metrics: reads every pod's metrics every 2 s (the agent samples its cgroups); returns the stop. */
function pollMetrics(api: Api): () => void {
  if (!args.metrics) return () => {};
  let on = true;
  void (async () => {
    for (; on; await Bun.sleep(2000)) {
      const list = await api.get("/apis/metrics.k8s.io/v1beta1/pods").catch(() => undefined);
      metricsPods = Math.max(metricsPods, list?.items?.length ?? 0);
    }
  })();
  return () => void (on = false);
}

/** RSS every second over the window: the last sample and the window's max. */
async function sampleRss(pid: number) {
  const samples: number[] = [];
  for (const end = performance.now() + WINDOW_MS; performance.now() < end; await Bun.sleep(1000)) samples.push(memoryOf(pid).rss);
  return { last: samples.at(-1)!, max: Math.max(...samples), hwm: memoryOf(pid).hwm };
}

/** CPU ms used since `t0` (performance.now()), and that as % of one core. */
const cpuSince = (t0: number, ms: number) => ({ ms, pct: (ms / (performance.now() - t0)) * 100 });
const cpuCell = (c: { ms: number; pct: number }) => `${c.ms.toFixed(0)} ms (${c.pct.toFixed(1)} %)`;

const where = (pid: number) => rssByMapping(pid).slice(0, 4).map((m) => `${m.name} ${mb(m.rss)}`).join(", ");

let exit = 0;
const cleanups: (() => Promise<void>)[] = [];
try {
  const runtime = new DockerRuntime(process.env.DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET);
  const version = await runtime.version();
  await ensureTestImage(runtime);
  console.log(`agent memory: ${PODS} pods of ${TEST_IMAGE}, Docker ${version.version}, bramble ${args.binary ?? "bun src/main.ts"}${args.smol ? " --smol" : ""} at ${sourceVersion()}, bun ${Bun.version}`);

  // Baseline: the runtime alone.
  const idle = run([process.execPath, "-e", "setInterval(() => {}, 1000)"]);
  await Bun.sleep(2000);
  const baseline = memoryOf(idle.proc.pid).rss;
  await idle.stop();

  // 1. A separate agent joined to a control-plane-only server.
  const cp = await startServer("cp", ["--disable-agent"]);
  let agent: Child | undefined;
  cleanups.push(async () => {
    if (agent && agent.proc.exitCode === null) await deletePods(cp.api, AGENT_NODE);
    await agent?.stop();
    await cp.p.stop();
    removeContainersOf(AGENT_NODE);
  });
  const tok = sh([...BRAMBLE, "token", "create", "--print-join-command", "--kubeconfig", cp.api.kubeconfig]);
  const line = tok.out.split("\n").find((l) => /\bagent\b.*--server/.test(l));
  if (tok.code !== 0 || !line) throw new Error(`token create: ${tok.out}${tok.err}`);
  const joinArgs = line.trim().split(/\s+/);
  const agentDir = join(work, "agent");
  mkdirSync(agentDir);
  agent = run([...BRAMBLE, ...joinArgs.slice(joinArgs.indexOf("agent")), "--data-dir", agentDir, "--node-name", AGENT_NODE, "--kubelet-port", "0"]);
  await until(`node ${AGENT_NODE} Ready`, nodeReady(cp.api, AGENT_NODE), 60_000, () => agent!.log());
  await Bun.sleep(5000);
  const agentIdle = memoryOf(agent.proc.pid).rss;
  await runPods(cp.api, AGENT_NODE, () => agent!.log());
  const agentCpu0 = { t: performance.now(), agent: cpuMsOf(agent.proc.pid), cp: cpuMsOf(cp.p.proc.pid) };
  const stopAgentMetrics = pollMetrics(cp.api);
  await Bun.sleep(SETTLE_MS);
  const agentLoaded = await sampleRss(agent.proc.pid);
  stopAgentMetrics();
  const agentCpu = cpuSince(agentCpu0.t, cpuMsOf(agent.proc.pid) - agentCpu0.agent);
  const cpCpu = cpuSince(agentCpu0.t, cpuMsOf(cp.p.proc.pid) - agentCpu0.cp);
  const agentWhere = where(agent.proc.pid);
  const cpRss = memoryOf(cp.p.proc.pid).rss;
  await cleanups.pop()!();

  // 2. A server with its embedded agent.
  const emb = await startServer("emb", [], EMBEDDED_NODE);
  cleanups.push(async () => {
    if (emb.p.proc.exitCode === null) await deletePods(emb.api, EMBEDDED_NODE);
    await emb.p.stop();
    removeContainersOf(EMBEDDED_NODE);
  });
  await until(`node ${EMBEDDED_NODE} Ready`, nodeReady(emb.api, EMBEDDED_NODE), 60_000, () => emb.p.log());
  await Bun.sleep(5000);
  const embIdle = memoryOf(emb.p.proc.pid).rss;
  await runPods(emb.api, EMBEDDED_NODE, () => emb.p.log());
  const embCpu0 = { t: performance.now(), cpu: cpuMsOf(emb.p.proc.pid) };
  const stopEmbMetrics = pollMetrics(emb.api);
  await Bun.sleep(SETTLE_MS);
  const embLoaded = await sampleRss(emb.p.proc.pid);
  stopEmbMetrics();
  const embCpu = cpuSince(embCpu0.t, cpuMsOf(emb.p.proc.pid) - embCpu0.cpu);
  const embWhere = where(emb.p.proc.pid);
  await cleanups.pop()!();

  const r = (x: number) => (x / baseline).toFixed(2);
  console.log(`\nRSS (VmRSS), MB; "with pods": last sample / max over ${WINDOW_MS / 1000} s, ${SETTLE_MS / 1000} s after all ${PODS} were Running`);
  printTable(
    ["process", "RSS MB", "× bare bun", "peak (VmHWM)", "target", "result"],
    [
      ["bare bun (setInterval)", mb(baseline), "1.00", "-", "-", "-"],
      ["bramble agent, Ready, no pods", mb(agentIdle), r(agentIdle), "-", "-", "-"],
      [`bramble agent, ${PODS} pods`, `${mb(agentLoaded.last)} / ${mb(agentLoaded.max)}`, r(agentLoaded.max), mb(agentLoaded.hwm), "≤ 60 MB", met(agentLoaded.max <= AGENT_TARGET)],
      [`(its server, --disable-agent)`, mb(cpRss), r(cpRss), "-", "-", "-"],
      ["bramble server + embedded agent, no pods", mb(embIdle), r(embIdle), "-", "-", "-"],
      [`bramble server + embedded agent, ${PODS} pods`, `${mb(embLoaded.last)} / ${mb(embLoaded.max)}`, r(embLoaded.max), mb(embLoaded.hwm), "≤ 130 MB", met(embLoaded.max <= SERVER_TARGET)],
    ],
  );
  console.log(`\nCPU (user + system) over the ${(SETTLE_MS + WINDOW_MS) / 1000} s after all ${PODS} pods were Running, metrics.k8s.io read every 2 s: ${args.metrics ? `yes (up to ${metricsPods} pods per answer)` : "no"}`);
  printTable(
    ["process", "CPU ms (% of one core)"],
    [
      [`bramble agent, ${PODS} pods`, cpuCell(agentCpu)],
      [`(its server, --disable-agent)`, cpuCell(cpCpu)],
      [`bramble server + embedded agent, ${PODS} pods`, cpuCell(embCpu)],
    ],
  );
  console.log(`largest RSS by mapping, agent with pods (MB): ${agentWhere}`);
  console.log(`largest RSS by mapping, server + agent with pods (MB): ${embWhere}`);
  exit = agentLoaded.max <= AGENT_TARGET && embLoaded.max <= SERVER_TARGET ? 0 : 1;
} catch (e) {
  console.error(e);
  exit = 2;
} finally {
  for (const c of cleanups.reverse()) await c().catch((e) => console.error(`cleanup: ${e}`));
  rmSync(work, { recursive: true, force: true });
}
process.exit(exit);
