// Claim-to-running latency on a real node: the real `bramble server` with its embedded agent on
// this machine's Docker engine. Two batches in one run, each one `kubectl apply` of N pods
// (local image bramble/busybox:test, `sleep 3600`, imagePullPolicy Never):
//   - baseline: each pod mounts an emptyDir;
//   - claims: each pod mounts its own new PersistentVolumeClaim of the default local-path class
//     (WaitForFirstConsumer), applied together with the pods.
// Per pod, from the start of the apply: its claim seen Bound (claims batch) and the pod seen
// Running, both on watches. The claims batch pays for the scheduler's wait on the binding, the
// provisioning and the directory the kubelet creates; the difference to the baseline is that cost.
//
// The server runs in its own UTS namespace with a unique hostname when root (see pod-startup.ts:
// agents on one Docker engine must not share a node name); cleanup removes only its containers.
//   bun scripts/bench/pvc-latency.ts [--pods 10] [--timeout 120] [--binary dist/bramble]
import { spawn, type Subprocess } from "bun";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ensureTestImage, TEST_IMAGE } from "../../src/agent/images/testimage.ts";
import { DockerRuntime, DEFAULT_DOCKER_SOCKET } from "../../src/agent/runtime/docker/docker.ts";
import { readKubeconfig, resolveContext } from "../../src/client/kubeconfig.ts";
import { sourceVersion } from "./lib/proc.ts";
import { freePort } from "./lib/server.ts";
import { percentile, printTable } from "./lib/table.ts";
import { openWatch } from "./lib/watch.ts";

const { values: args } = parseArgs({
  options: {
    pods: { type: "string", default: "10" },
    timeout: { type: "string", default: "120" },
    binary: { type: "string" },
  },
});
const PODS = Number(args.pods);
const TIMEOUT_MS = Number(args.timeout) * 1000;
const REPO = resolve(import.meta.dir, "../..");
const RUN = Date.now().toString(36);
const NODE = process.getuid?.() === 0 ? `bench-pvc-${RUN}` : hostname().toLowerCase();
const NS = `pvc-${RUN}`;
const secs = (ms: number) => (ms / 1000).toFixed(3);

function sh(cmd: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync({ cmd, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}
const nodeContainers = () => sh(["docker", "ps", "-aq", "--filter", `label=io.bramble.node=${NODE}`]).out.split("\n").filter(Boolean);

const work = mkdtempSync(join(tmpdir(), "bramble-bench-pvc-"));
const dataDir = join(work, "data");
const kubeconfig = join(dataDir, "server", "admin.kubeconfig");
const kubectl = (...a: string[]) => sh(["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", join(work, "kube-cache"), "--request-timeout=20s", ...a]);
let server: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let serverLog = "";
let cleaned = false;

async function startServer() {
  const port = freePort();
  const bramble = args.binary ? [resolve(args.binary)] : [process.execPath, join(REPO, "src/main.ts")];
  const inner = [...bramble, "server", "--data-dir", dataDir, "--https-listen-port", String(port), "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1"];
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
  for (const deadline = performance.now() + 30_000; performance.now() < deadline; await Bun.sleep(50)) {
    if (server.exitCode !== null || server.signalCode !== null) throw new Error(`server exited (${server.exitCode ?? server.signalCode}):\n${serverLog}`);
    if (!existsSync(kubeconfig)) continue;
    const c = resolveContext(readKubeconfig(kubeconfig));
    const res = await fetch(`https://127.0.0.1:${port}/readyz`, { tls: { ca: c.caCertPem } }).catch(() => undefined);
    if (res?.ok) return { url: c.server, token: c.token!, ca: c.caCertPem! };
  }
  throw new Error(`server not ready in 30 s:\n${serverLog}`);
}

async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  if (server && server.exitCode === null && existsSync(kubeconfig)) {
    kubectl("delete", "pods", "--all", "-n", NS, "--grace-period=1", "--wait=false");
    for (const end = Date.now() + 30_000; Date.now() < end && nodeContainers().length > 0; ) await Bun.sleep(500);
  }
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill("SIGTERM");
    const killer = setTimeout(() => server!.kill("SIGKILL"), 15_000);
    await server.exited;
    clearTimeout(killer);
  }
  const left = nodeContainers();
  if (left.length) sh(["docker", "rm", "-f", "-v", ...left]);
  rmSync(work, { recursive: true, force: true });
}
process.on("SIGINT", () => void cleanup().finally(() => process.exit(130)));

const summary = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 0.5), p99: percentile(s, 0.99), max: s.at(-1) ?? 0, n: s.length };
};

const pod = (name: string, volume: Record<string, unknown>) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: NS },
  spec: {
    terminationGracePeriodSeconds: 1,
    containers: [{ name: "c", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sleep", "3600"], volumeMounts: [{ name: "data", mountPath: "/data" }] }],
    volumes: [{ name: "data", ...volume }],
  },
});
const claim = (name: string) => ({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name, namespace: NS }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "16Mi" } } } });

/** One apply of `objects`; per pod, ms from the apply's start to Running; per claim, to Bound. */
async function batch(api: { url: string }, init: RequestInit, prefix: string, objects: unknown[]) {
  const running = new Map<string, number>();
  const bound = new Map<string, number>();
  let start = Number.POSITIVE_INFINITY;
  const pods = openWatch(`${api.url}/api/v1/namespaces/${NS}/pods?watch=1`, init, (e, p) => {
    if (e.name.startsWith(prefix) && p.status?.phase === "Running" && !running.has(e.name)) running.set(e.name, e.at - start);
  });
  const claims = openWatch(`${api.url}/api/v1/namespaces/${NS}/persistentvolumeclaims?watch=1`, init, (e, c) => {
    if (e.name.startsWith(prefix) && c.status?.phase === "Bound" && !bound.has(e.name)) bound.set(e.name, e.at - start);
  });
  await Bun.sleep(300); // the watches are open before the apply
  start = performance.now();
  const apply = spawn({ cmd: ["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", join(work, "kube-cache"), "apply", "-f", "-"], stdin: new Blob([objects.map((o) => `---\n${JSON.stringify(o)}`).join("\n")]), stdout: "ignore", stderr: "pipe" });
  if ((await apply.exited) !== 0) throw new Error(`kubectl apply: ${await new Response(apply.stderr).text()}`);
  for (const deadline = start + TIMEOUT_MS; running.size < PODS && performance.now() < deadline && !pods.error; ) await Bun.sleep(50);
  pods.stop();
  claims.stop();
  if (running.size < PODS) throw new Error(`${prefix}: ${running.size}/${PODS} pods Running after ${TIMEOUT_MS / 1000} s\n${serverLog.slice(-3000)}`);
  return { running: [...running.values()], bound: [...bound.values()] };
}

let exit = 0;
try {
  const runtime = new DockerRuntime(process.env.DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET);
  const version = await runtime.version();
  await ensureTestImage(runtime);
  console.log(`claim → Bound → pod Running: ${PODS} pods per batch, ${TEST_IMAGE}, Docker ${version.version}, node ${NODE}, bramble ${args.binary ?? "bun src/main.ts"} at ${sourceVersion()}`);

  const api = await startServer();
  const init = { headers: { authorization: `Bearer ${api.token}`, accept: "application/json" }, tls: { ca: api.ca } } as RequestInit;
  for (const deadline = Date.now() + 60_000; ; await Bun.sleep(200)) {
    const res = await fetch(`${api.url}/api/v1/nodes/${NODE}`, init);
    const node = res.ok ? ((await res.json()) as any) : undefined;
    if (node?.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True")) break;
    if (Date.now() > deadline) throw new Error(`node ${NODE} not Ready in 60 s:\n${serverLog}`);
  }
  if (kubectl("create", "namespace", NS).code !== 0) throw new Error("create namespace failed");
  for (const end = Date.now() + 20_000; Date.now() < end; await Bun.sleep(100)) if ((await fetch(`${api.url}/api/v1/namespaces/${NS}/serviceaccounts/default`, init)).ok) break;

  const names = Array.from({ length: PODS }, (_, i) => i);
  const base = await batch(api, init, "e", names.map((i) => pod(`e${i}`, { emptyDir: {} })));
  const withClaims = await batch(api, init, "c", names.flatMap((i) => [claim(`c${i}`), pod(`c${i}`, { persistentVolumeClaim: { claimName: `c${i}` } })]));

  const e = summary(base.running);
  const b = summary(withClaims.bound);
  const r = summary(withClaims.running);
  console.log(`\nper pod, seconds from the start of \`kubectl apply\` (seen on watches)`);
  printTable(
    ["what", "n", "p50", "p99", "max"],
    [
      ["emptyDir pod Running (baseline)", e.n, secs(e.p50), secs(e.p99), secs(e.max)],
      ["local-path claim Bound", b.n, secs(b.p50), secs(b.p99), secs(b.max)],
      ["local-path pod Running", r.n, secs(r.p50), secs(r.p99), secs(r.max)],
    ],
  );
  console.log(`claims cost over the baseline: p50 +${secs(r.p50 - e.p50)} s, p99 +${secs(r.p99 - e.p99)} s`);
} catch (err) {
  console.error(err);
  exit = 2;
} finally {
  await cleanup();
}
process.exit(exit);
