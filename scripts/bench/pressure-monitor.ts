// What watching for node pressure costs the agent: CPU time and RSS of a real `bramble agent`
// (joined to a `bramble server --disable-agent`) running N real pods on this machine's Docker
// engine, with the pressure monitor off (--eviction-hard="", nothing measured) and on (upstream's
// default thresholds, measured every 10 s), alternated off/on/off/on on the same agent data dir
// and the same pods (each restart adopts the running containers), so machine noise hits both
// alike. Also the cost of one monitoring pass in-process: observe() (kernel files + statfs) and,
// what only a node under pressure pays, the per-pod usage read (cgroups of N pods' containers).
//   bun scripts/bench/pressure-monitor.ts [--pods 50] [--window-s 60] [--settle-s 10]
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { hostReader } from "../../src/agent/eviction/host-reader.ts";
import { observe } from "../../src/agent/eviction/signals.ts";
import { podUsage } from "../../src/agent/eviction/usage.ts";
import { dockerRootDir } from "../../src/agent/eviction/docker-root.ts";
import { ensureTestImage, TEST_IMAGE } from "../../src/agent/images/testimage.ts";
import { podDir } from "../../src/agent/kubelet/volumes.ts";
import { DockerRuntime, DEFAULT_DOCKER_SOCKET } from "../../src/agent/runtime/docker/docker.ts";
import { LABELS } from "../../src/agent/runtime/runtime.ts";
import { readKubeconfig, resolveContext } from "../../src/client/kubeconfig.ts";
import type { Pod } from "../../src/api/resources/core/pod.ts";
import { cpuMsOf, mb, memoryOf, sourceVersion } from "./lib/proc.ts";
import { freePort } from "./lib/server.ts";
import { printTable } from "./lib/table.ts";
import { startChild, type Child } from "./lib/child.ts";

const { values: args } = parseArgs({
  options: {
    pods: { type: "string", default: "50" },
    "window-s": { type: "string", default: "60" },
    "settle-s": { type: "string", default: "10" },
  },
});
const PODS = Number(args.pods);
const WINDOW_MS = Number(args["window-s"]) * 1000;
const SETTLE_MS = Number(args["settle-s"]) * 1000;
const REPO = resolve(import.meta.dir, "../..");
const NODE = `bench-pressure-${Date.now().toString(36)}`;
const NS = "bench";
const BRAMBLE = [process.execPath, join(REPO, "src/main.ts")];
const HOST_SAFE_NETWORKING = ["--flannel-backend=none", "--disable-kube-proxy", "--disable=coredns"];

const work = mkdtempSync(join(tmpdir(), "bramble-bench-pressure-"));

function sh(cmd: string[]) {
  const r = Bun.spawnSync({ cmd, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}
const containersOf = (node: string) => sh(["docker", "ps", "-aq", "--filter", `label=io.bramble.node=${node}`]).out.split("\n").filter(Boolean);

const run = (cmd: string[]): Child => startChild(cmd);

async function until(what: string, f: () => Promise<boolean>, timeoutMs: number, log: () => string) {
  const end = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out (${timeoutMs / 1000} s) waiting for ${what}\n${log().slice(-3000)}`);
    await Bun.sleep(250);
  }
}

let exit = 0;
const cleanups: (() => Promise<void>)[] = [];
try {
  const runtime = new DockerRuntime(process.env.DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET);
  const version = await runtime.version();
  await ensureTestImage(runtime);
  console.log(`pressure monitor: ${PODS} pods of ${TEST_IMAGE}, Docker ${version.version}, bramble at ${sourceVersion()}, bun ${Bun.version}`);

  // The control plane.
  const dataDir = join(work, "cp");
  const kubeconfig = join(dataDir, "server", "admin.kubeconfig");
  const port = freePort();
  const cp = run([...BRAMBLE, "server", "--data-dir", dataDir, "--https-listen-port", String(port), "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--disable-agent", ...HOST_SAFE_NETWORKING]);
  cleanups.push(() => cp.stop());
  await until("the server", async () => existsSync(kubeconfig) && !!(await fetch(`https://127.0.0.1:${port}/readyz`, { tls: { ca: resolveContext(readKubeconfig(kubeconfig)).caCertPem } }).catch(() => undefined))?.ok, 30_000, cp.log);
  const c = resolveContext(readKubeconfig(kubeconfig));
  const init = { headers: { authorization: `Bearer ${c.token}`, accept: "application/json", "content-type": "application/json" }, tls: { ca: c.caCertPem } } as RequestInit;
  const get = async (path: string): Promise<any> => {
    const r = await fetch(c.server + path, init).catch(() => undefined);
    return r?.ok ? r.json() : undefined;
  };
  const post = (path: string, body: unknown) => fetch(c.server + path, { ...init, method: "POST", body: JSON.stringify(body) });

  const tok = sh([...BRAMBLE, "token", "create", "--print-join-command", "--kubeconfig", kubeconfig]);
  const line = tok.out.split("\n").find((l) => /\bagent\b.*--server/.test(l));
  if (tok.code !== 0 || !line) throw new Error(`token create: ${tok.out}${tok.err}`);
  const words = line.trim().split(/\s+/);
  const joinArgs = words.slice(words.indexOf("agent"));
  const agentDir = join(work, "agent");
  mkdirSync(agentDir);
  const startAgent = (monitor: boolean) => run([...BRAMBLE, ...joinArgs, "--data-dir", agentDir, "--node-name", NODE, "--kubelet-port", "0", ...(monitor ? [] : ["--eviction-hard="])]);
  const ready = async () => !!(await get(`/api/v1/nodes/${NODE}`))?.status?.conditions?.some((x: any) => x.type === "Ready" && x.status === "True");
  const running = async () => ((await get(`/api/v1/namespaces/${NS}/pods`))?.items ?? []).filter((p: any) => p.status?.phase === "Running").length === PODS;

  let agent = startAgent(false);
  cleanups.push(async () => {
    sh(["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", join(work, "kube-cache"), "--request-timeout=10s", "delete", "pods", "--all", "-n", NS, "--grace-period=1", "--wait=false"]);
    const end = Date.now() + 30_000;
    while (Date.now() < end && containersOf(NODE).length > 0) await Bun.sleep(500);
    await agent.stop();
    const left = containersOf(NODE);
    if (left.length) sh(["docker", "rm", "-f", "-v", ...left]);
  });
  await until(`node ${NODE} Ready`, ready, 60_000, agent.log);
  const ns = await post("/api/v1/namespaces", { metadata: { name: NS } });
  if (ns.status !== 201) throw new Error(`namespace: ${ns.status}`);
  await until("the default service account", async () => !!(await get(`/api/v1/namespaces/${NS}/serviceaccounts/default`)), 20_000, agent.log);
  await Promise.all(
    Array.from({ length: PODS }, async (_, i) => {
      const r = await post(`/api/v1/namespaces/${NS}/pods`, { metadata: { name: `p${i}` }, spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sleep", "3600"] }] } });
      if (r.status !== 201) throw new Error(`pod p${i}: ${r.status} ${await r.text()}`);
    }),
  );
  await until(`${PODS} pods Running`, running, 240_000, agent.log);

  // Alternate off/on windows on the same pods.
  const results: { monitor: boolean; cpuMs: number; rssMax: number; rssLast: number }[] = [];
  for (const monitor of [false, true, false, true]) {
    await agent.stop();
    agent = startAgent(monitor);
    await until(`node ${NODE} Ready (monitor ${monitor ? "on" : "off"})`, ready, 60_000, agent.log);
    await until(`${PODS} pods Running after the restart`, running, 60_000, agent.log);
    await Bun.sleep(SETTLE_MS);
    const pid = agent.proc.pid;
    const cpu0 = cpuMsOf(pid);
    const rss: number[] = [];
    for (const end = performance.now() + WINDOW_MS; performance.now() < end; await Bun.sleep(1000)) rss.push(memoryOf(pid).rss);
    const cpuMs = cpuMsOf(pid) - cpu0;
    results.push({ monitor, cpuMs, rssMax: Math.max(...rss), rssLast: rss.at(-1)! });
  }
  if (containersOf(NODE).length < PODS) throw new Error("pods were lost across restarts");

  // One monitoring pass, in-process, on the same machine: the measurements every 10 s, and
  // the per-pod usage read a node under pressure adds.
  const imagefs = await dockerRootDir(runtime.socketPath);
  const paths = { nodefs: agentDir, imagefs };
  const N = 500;
  let t = performance.now();
  for (let i = 0; i < N; i++) observe(hostReader, paths);
  const observeUs = ((performance.now() - t) * 1000) / N;
  const list = (await get(`/api/v1/namespaces/${NS}/pods`)).items as Pod[];
  const byUid = new Map<string, Awaited<ReturnType<typeof runtime.listContainers>>>();
  const containers = await runtime.listContainers({ "io.bramble.node": NODE });
  for (const ct of containers) byUid.set(ct.labels[LABELS.podUid]!, [...(byUid.get(ct.labels[LABELS.podUid]!) ?? []), ct]);
  const src = { reader: hostReader, containers: async (uid: string) => byUid.get(uid) ?? [], podDir: (uid: string) => podDir(agentDir, uid) };
  const M = 50;
  t = performance.now();
  let measured = 0;
  for (let i = 0; i < M; i++) measured = (await podUsage(src, list, "memory")).filter((u) => (u.memory ?? 0) > 0).length;
  const memUsageMs = (performance.now() - t) / M;
  t = performance.now();
  for (let i = 0; i < M; i++) await podUsage(src, list, "ephemeral-storage");
  const diskUsageMs = (performance.now() - t) / M;
  t = performance.now();
  for (let i = 0; i < 10; i++) await runtime.listContainers({ "io.bramble.node": NODE });
  const listMs = (performance.now() - t) / 10;

  const avg = (on: boolean, f: (r: (typeof results)[0]) => number) => {
    const xs = results.filter((r) => r.monitor === on).map(f);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const cpuPct = (ms: number) => ((ms / WINDOW_MS) * 100).toFixed(2);
  console.log(`\nagent with ${PODS} pods, ${WINDOW_MS / 1000} s windows ${SETTLE_MS / 1000} s after a restart, alternated off/on/off/on`);
  printTable(
    ["window", "monitor", "CPU ms", "CPU %", "RSS MB (last / max)"],
    results.map((r, i) => [String(i + 1), r.monitor ? "on" : "off", r.cpuMs.toFixed(0), cpuPct(r.cpuMs), `${mb(r.rssLast)} / ${mb(r.rssMax)}`]),
  );
  const offCpu = avg(false, (r) => r.cpuMs);
  const onCpu = avg(true, (r) => r.cpuMs);
  const offRss = avg(false, (r) => r.rssMax);
  const onRss = avg(true, (r) => r.rssMax);
  printTable(
    ["", "monitor off", "monitor on", "on / off"],
    [
      ["CPU ms per window (mean)", offCpu.toFixed(0), onCpu.toFixed(0), (onCpu / offCpu).toFixed(3)],
      ["RSS max MB (mean)", mb(offRss), mb(onRss), (onRss / offRss).toFixed(3)],
    ],
  );
  console.log(`\none pass in-process: observe() ${observeUs.toFixed(0)} µs (every 10 s);`);
  console.log(`under pressure, also: memory usage of ${PODS} pods ${memUsageMs.toFixed(2)} ms (${measured} pods with a cgroup found), disk usage ${diskUsageMs.toFixed(2)} ms, plus one container list ${listMs.toFixed(1)} ms`);
} catch (e) {
  console.error(e);
  exit = 2;
} finally {
  for (const c of cleanups.reverse()) await c().catch((e) => console.error(`cleanup: ${e}`));
  rmSync(work, { recursive: true, force: true });
}
process.exit(exit);
