// Pod start-up on a real node: the real `bramble server` with its embedded agent on this machine's
// Docker engine; one `kubectl apply` of N single-container pods (local image bramble/busybox:test,
// `sleep 3600`, imagePullPolicy Never) and, per pod, the time from the apply to the pod seen
// Running on a watch. Same-run baseline: bare `docker run -d` of the same image and command, one
// after another and N at once (per container: from the start of its batch to `docker run` exiting,
// i.e. the container started). Target: p99 ≤ 2× the bare docker figure at the same
// concurrency (Kubernetes' SLO: p99 ≤ 5 s).
//
// The Docker engine may be shared (other servers, tests): the embedded agent's node is named after
// the hostname, and agents on one engine with the same node name treat each other's containers as
// orphans. So the server runs in its own UTS namespace (unshare --uts, root only) with a unique
// hostname, and cleanup removes only containers labelled with that node (never `bramble reset`,
// which removes every bramble container on the engine).
//   bun scripts/bench/pod-startup.ts [--pods 50] [--timeout 120] [--binary dist/bramble]
import { spawn, type Subprocess } from "bun";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ensureTestImage, TEST_IMAGE } from "../../src/agent/images/testimage.ts";
import { DockerRuntime, DEFAULT_DOCKER_SOCKET } from "../../src/agent/runtime/docker/docker.ts";
import { readKubeconfig, resolveContext } from "../../src/client/kubeconfig.ts";
import { sourceVersion } from "./lib/proc.ts";
import { freePort } from "./lib/server.ts";
import { met, percentile, printTable } from "./lib/table.ts";
import { openWatch } from "./lib/watch.ts";

const { values: args } = parseArgs({
  options: {
    pods: { type: "string", default: "50" },
    timeout: { type: "string", default: "120" },
    binary: { type: "string" },
  },
});
const PODS = Number(args.pods);
const TIMEOUT_MS = Number(args.timeout) * 1000;
const REPO = resolve(import.meta.dir, "../..");
const RUN = Date.now().toString(36);
const NODE = process.getuid?.() === 0 ? `bench-ps-${RUN}` : hostname().toLowerCase();
const NS = `ps-${RUN}`;
const BENCH_LABEL = `io.bramble.bench=pod-startup-${RUN}`;
const SLO_MS = 5_000;
const secs = (ms: number) => (ms / 1000).toFixed(3);

function sh(cmd: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync({ cmd, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** Force-removes the containers carrying `label` (k=v); returns how many. */
function removeContainers(label: string): number {
  const ids = sh(["docker", "ps", "-aq", "--filter", `label=${label}`]).out.split("\n").filter(Boolean);
  for (let i = 0; i < ids.length; i += 50) sh(["docker", "rm", "-f", "-v", ...ids.slice(i, i + 50)]);
  return ids.length;
}
const countContainers = (label: string) => sh(["docker", "ps", "-aq", "--filter", `label=${label}`]).out.split("\n").filter(Boolean).length;

// --- the server with its embedded agent, on a node name of its own --------------------------------
const work = mkdtempSync(join(tmpdir(), "bramble-bench-ps-"));
const dataDir = join(work, "data");
const kubeconfig = join(dataDir, "server", "admin.kubeconfig");
// kubectl's own cache dir: the shared ~/.kube/cache may hold another server's OpenAPI for this host:port.
let server: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let serverLog = "";
let cleaned = false;

async function startServer() {
  const port = freePort();
  const bramble = args.binary ? [resolve(args.binary)] : [process.execPath, join(REPO, "src/main.ts")];
  const inner = [...bramble, "server", "--data-dir", dataDir, "--https-listen-port", String(port), "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1"];
  // unshare without --fork execs: the pid we get is the server's.
  const cmd = NODE === hostname().toLowerCase() ? inner : ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', NODE, ...inner];
  server = spawn({ cmd, cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, BRAMBLE_LOG_LEVEL: "warn", BRAMBLE_KUBELET_PORT: "0" } });
  for (const stream of [server.stdout, server.stderr]) {
    void (async () => {
      const d = new TextDecoder();
      try {
        for await (const chunk of stream) serverLog = (serverLog + d.decode(chunk, { stream: true })).slice(-20_000);
      } catch {}
    })();
  }
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) throw new Error(`server exited (${server.exitCode ?? server.signalCode}):\n${serverLog}`);
    if (existsSync(kubeconfig)) {
      const c = resolveContext(readKubeconfig(kubeconfig));
      const res = await fetch(`https://127.0.0.1:${port}/readyz`, { tls: { ca: c.caCertPem } }).catch(() => undefined);
      if (res?.ok) return { url: c.server, token: c.token!, ca: c.caCertPem! };
    }
    await Bun.sleep(50);
  }
  throw new Error(`server not ready in 30 s:\n${serverLog}`);
}

async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  // Pods first, so the agent stops its own containers; then the server; then whatever is left.
  if (server && server.exitCode === null && existsSync(kubeconfig)) {
    sh(["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", join(work, "kube-cache"), "--request-timeout=10s", "delete", "pods", "--all", "-n", NS, "--grace-period=1", "--wait=false"]);
    const end = Date.now() + 30_000;
    while (Date.now() < end && countContainers(`io.bramble.node=${NODE}`) > 0) await Bun.sleep(500);
  }
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill("SIGTERM");
    const killer = setTimeout(() => server!.kill("SIGKILL"), 15_000);
    await server.exited;
    clearTimeout(killer);
  }
  const leftPods = removeContainers(`io.bramble.node=${NODE}`);
  const leftBench = removeContainers(BENCH_LABEL);
  if (leftPods + leftBench) console.log(`cleanup: force-removed ${leftPods} pod containers and ${leftBench} baseline containers`);
  rmSync(work, { recursive: true, force: true });
}
process.on("SIGINT", () => void cleanup().finally(() => process.exit(130)));

// --- bare docker run ---------------------------------------------------------------------------
async function dockerRun(i: number, batch: string): Promise<number> {
  const t = performance.now();
  const p = spawn({ cmd: ["docker", "run", "-d", "--label", BENCH_LABEL, "--name", `bench-ps-${RUN}-${batch}-${i}`, TEST_IMAGE, "sleep", "3600"], stdout: "ignore", stderr: "pipe" });
  const code = await p.exited;
  if (code !== 0) throw new Error(`docker run: ${await new Response(p.stderr).text()}`);
  return performance.now() - t;
}

function summary(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 0.5), p99: percentile(s, 0.99), max: s.at(-1) ?? 0, n: s.length };
}

let exit = 0;
try {
  const runtime = new DockerRuntime(process.env.DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET);
  const version = await runtime.version();
  await ensureTestImage(runtime);
  console.log(`pod start-up: ${PODS} pods, ${TEST_IMAGE}, Docker ${version.version}, node ${NODE}, bramble ${args.binary ?? "bun src/main.ts"} at ${sourceVersion()}`);

  // Baseline 1: one after another (from each `docker run` to its exit).
  const seq: number[] = [];
  for (let i = 0; i < PODS; i++) seq.push(await dockerRun(i, "seq"));
  removeContainers(BENCH_LABEL);
  // Baseline 2: all at once (from the batch's start to each `docker run` exiting).
  const t0 = performance.now();
  const conc = await Promise.all(Array.from({ length: PODS }, (_, i) => dockerRun(i, "conc").then(() => performance.now() - t0)));
  const concWall = performance.now() - t0;
  removeContainers(BENCH_LABEL);

  // bramble: the server, its node Ready, a namespace; then one apply of N pods.
  const api = await startServer();
  const init = { headers: { authorization: `Bearer ${api.token}`, accept: "application/json" }, tls: { ca: api.ca } } as RequestInit;
  const nodeDeadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${api.url}/api/v1/nodes/${NODE}`, init);
    const node = res.ok ? ((await res.json()) as any) : undefined;
    if (node?.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True")) break;
    if (Date.now() > nodeDeadline) throw new Error(`node ${NODE} not Ready in 60 s:\n${serverLog}`);
    await Bun.sleep(200);
  }
  const ns = sh(["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", join(work, "kube-cache"), "create", "namespace", NS]);
  if (ns.code !== 0) throw new Error(`create namespace: ${ns.err}`);
  // The service account the pods run as: wait for it, so pod admission does not race its creation.
  for (const end = Date.now() + 20_000; Date.now() < end; await Bun.sleep(100)) {
    if ((await fetch(`${api.url}/api/v1/namespaces/${NS}/serviceaccounts/default`, init)).ok) break;
  }

  const created = new Map<string, number>();
  const running = new Map<string, number>();
  let start = 0;
  const watch = openWatch(`${api.url}/api/v1/namespaces/${NS}/pods?watch=1`, init, (e, pod) => {
    if (!created.has(e.name)) created.set(e.name, e.at - start);
    if (pod.status?.phase === "Running" && !running.has(e.name)) running.set(e.name, e.at - start);
  });
  await Bun.sleep(300); // the watch is open before the apply
  // One multi-document stream, not a kind: List: kubectl validates a List against /openapi/v2 in
  // protobuf, which the server does not serve yet ("proto: cannot parse invalid wire-format data").
  const manifest = Array.from({ length: PODS }, (_, i) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `p${i}`, namespace: NS },
      // A short grace only so that cleanup is quick (`sleep` as PID 1 ignores SIGTERM).
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sleep", "3600"] }] },
    }))
    .map((pod) => JSON.stringify(pod))
    .join("\n---\n");
  start = performance.now();
  const apply = spawn({ cmd: ["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", join(work, "kube-cache"), "apply", "-f", "-"], stdin: new Blob([`---\n${manifest}`]), stdout: "ignore", stderr: "pipe" });
  const applyCode = await apply.exited;
  const applyMs = performance.now() - start;
  if (applyCode !== 0) throw new Error(`kubectl apply: ${await new Response(apply.stderr).text()}`);
  const deadline = start + TIMEOUT_MS;
  while (running.size < PODS && performance.now() < deadline && !watch.error) await Bun.sleep(50);
  watch.stop();
  if (running.size < PODS) throw new Error(`${running.size}/${PODS} pods Running after ${TIMEOUT_MS / 1000} s${watch.error ? ` (watch: ${watch.error})` : ""}\n${serverLog.slice(-3000)}`);

  // Cross-check from the pods themselves: container startedAt − creationTimestamp (whole seconds).
  const pods = JSON.parse(sh(["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", join(work, "kube-cache"), "get", "pods", "-n", NS, "-o", "json"]).out).items as any[];
  const fromStatus = pods.map((p) => Date.parse(p.status.containerStatuses[0].state.running.startedAt) - Date.parse(p.metadata.creationTimestamp));

  const b = summary([...running.values()]);
  const c = summary([...created.values()]);
  const s = summary(seq);
  const k = summary(conc);
  console.log(`\nper pod / per container, seconds (bramble: from the start of \`kubectl apply\` to the pod seen on a watch)`);
  printTable(
    ["what", "n", "p50", "p99", "max", "p99 ÷ docker (concurrent)"],
    [
      [`docker run -d, one at a time`, s.n, secs(s.p50), secs(s.p99), secs(s.max), "-"],
      [`docker run -d, ${PODS} at once (from batch start)`, k.n, secs(k.p50), secs(k.p99), secs(k.max), "1.00"],
      [`bramble: pod created (apply → watch ADDED)`, c.n, secs(c.p50), secs(c.p99), secs(c.max), "-"],
      [`bramble: pod Running (apply → watch)`, b.n, secs(b.p50), secs(b.p99), secs(b.max), (b.p99 / k.p99).toFixed(2)],
    ],
  );
  const fs = summary(fromStatus);
  console.log(`kubectl apply of ${PODS} pods took ${secs(applyMs)} s; docker batch wall ${secs(concWall)} s`);
  console.log(`cross-check, startedAt − creationTimestamp (1 s resolution): p50 ${secs(fs.p50)} s, p99 ${secs(fs.p99)} s (each pod runs a pause + an app container; docker runs one)`);
  const okRatio = b.p99 <= 2 * k.p99;
  const okSlo = b.p99 <= SLO_MS;
  console.log("");
  printTable(
    ["target", "value", "result"],
    [
      [`p99 ≤ 2× bare docker p99 (${PODS} at once: ${secs(2 * k.p99)} s)`, `${secs(b.p99)} s`, met(okRatio)],
      [`p99 ≤ 2× bare docker p99 (one at a time: ${secs(2 * s.p99)} s)`, `${secs(b.p99)} s`, met(b.p99 <= 2 * s.p99)],
      [`Kubernetes SLO p99 ≤ 5 s`, `${secs(b.p99)} s`, met(okSlo)],
    ],
  );
  exit = okRatio && okSlo ? 0 : 1;
} catch (e) {
  console.error(e);
  exit = 2;
} finally {
  await cleanup();
}
process.exit(exit);
