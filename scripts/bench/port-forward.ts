// `kubectl port-forward` against a direct connection to the pod, in the same run: the real
// `bramble server` with its embedded agent on this machine's Docker engine, one busybox pod
// serving a file over HTTP (httpd) and an echo port (nc -e cat) on all its addresses, so the
// pod IP (the baseline) and the forward (kubectl → API server → agent → the pod's loopback)
// reach the same processes.
//   - throughput: a GET of a random file, MB/s, best of N runs each way
//   - latency: round trips of 64 bytes on one open connection, and a fresh connection + GET of
//     a tiny file; p50/p99 and the difference the forward adds
//   - leftovers: 100 forward sessions, each one request then kubectl stopped; the server's child
//     processes, open fds and TCP connections to the agent, and the agent's sockets in the pod,
//     before and after (no helper process, socket or timer may outlive its session)
// The node runs without a pod bridge of its own (like the tests: Docker's default bridge), so it
// shares the engine with anything else here safely; it has a node name of its own.
//   bun scripts/bench/port-forward.ts [--mb 100] [--runs 3] [--trips 500] [--sessions 100]
import { spawn, type Subprocess } from "bun";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ensureTestImage, TEST_IMAGE } from "../../src/agent/images/testimage.ts";
import { DEFAULT_DOCKER_SOCKET, DockerRuntime } from "../../src/agent/runtime/docker/docker.ts";
import { LABELS } from "../../src/agent/runtime/runtime.ts";
import { readKubeconfig, resolveContext } from "../../src/client/kubeconfig.ts";
import { memoryOf, mb, sourceVersion } from "./lib/proc.ts";
import { freePort } from "./lib/server.ts";
import { percentile, printTable } from "./lib/table.ts";

const { values: args } = parseArgs({
  options: {
    mb: { type: "string", default: "100" },
    runs: { type: "string", default: "3" },
    trips: { type: "string", default: "500" },
    sessions: { type: "string", default: "100" },
  },
});
const FILE_MB = Number(args.mb);
const RUNS = Number(args.runs);
const TRIPS = Number(args.trips);
const SESSIONS = Number(args.sessions);
const REPO = resolve(import.meta.dir, "../..");
const RUN = Date.now().toString(36);
const NODE = `bench-pf-${RUN}`;
const NS = `pf-${RUN}`;
const work = mkdtempSync(join(tmpdir(), "bramble-bench-pf-"));
const dataDir = join(work, "data");
const kubeconfig = join(dataDir, "server", "admin.kubeconfig");
const cacheDir = join(work, "kube-cache");
let server: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let serverLog = "";

const kubectlArgs = (...a: string[]) => ["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", cacheDir, "-n", NS, ...a];
function kubectl(...a: string[]): string {
  const r = Bun.spawnSync({ cmd: kubectlArgs(...a), stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`kubectl ${a.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

async function startServer() {
  const port = freePort();
  const cmd = [process.execPath, join(REPO, "src/main.ts"), "server", "--data-dir", dataDir, "--https-listen-port", String(port), "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--node-name", NODE, "--flannel-backend=none", "--disable-kube-proxy", "--disable=coredns"];
  server = spawn({ cmd, cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, BRAMBLE_LOG_LEVEL: "warn", BRAMBLE_KUBELET_PORT: "0" } });
  for (const stream of [server.stdout, server.stderr]) {
    void (async () => {
      const d = new TextDecoder();
      try {
        for await (const chunk of stream) serverLog = (serverLog + d.decode(chunk, { stream: true })).slice(-20_000);
      } catch {}
    })();
  }
  await until("the server's /readyz", async () => {
    if (server!.exitCode !== null) throw new Error(`server exited:\n${serverLog}`);
    if (!existsSync(kubeconfig)) return false;
    const c = resolveContext(readKubeconfig(kubeconfig));
    return (await fetch(`https://127.0.0.1:${port}/readyz`, { tls: { ca: c.caCertPem } }).catch(() => undefined))?.ok ?? false;
  });
}

async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 120_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await Promise.resolve().then(cond).catch(() => false)) return;
    await Bun.sleep(200);
  }
  throw new Error(`timed out waiting for ${what}\n${serverLog.slice(-3000)}`);
}

/** kubectl port-forward; resolves once it listens, with its local ports. */
async function forward(...remote: number[]): Promise<{ proc: Subprocess<"ignore", "pipe", "pipe">; local: number[] }> {
  const proc = spawn({ cmd: kubectlArgs("port-forward", "--address", "127.0.0.1", "pod/bench", ...remote.map((p) => `:${p}`)), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  const reader = proc.stdout.getReader();
  const d = new TextDecoder();
  const line = (p: number) => new RegExp(`127\\.0\\.0\\.1:(\\d+) -> ${p}\\b`);
  const deadline = Date.now() + 30_000;
  while (!remote.every((p) => line(p).test(out))) {
    if (Date.now() > deadline) throw new Error(`kubectl port-forward did not start: ${out} ${await new Response(proc.stderr).text()}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`kubectl port-forward exited: ${out} ${await new Response(proc.stderr).text()}`);
    out += d.decode(value);
  }
  reader.releaseLock();
  void proc.stdout.pipeTo(new WritableStream()).catch(() => {});
  return { proc, local: remote.map((p) => Number(line(p).exec(out)![1])) };
}

/** GET `path`, discarding the body; resolves to the body's size and the seconds it took. */
function download(host: string, port: number, path: string): Promise<{ bytes: number; secs: number }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    let bytes = 0;
    const s = connect({ host, port }, () => s.write(`GET ${path} HTTP/1.0\r\n\r\n`));
    s.on("data", (c: Buffer) => (bytes += c.length));
    s.on("error", reject);
    s.on("close", () => resolve({ bytes, secs: (performance.now() - t) / 1000 }));
  });
}

const opened = (host: string, port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const s = connect({ host, port }, () => resolve(s));
    s.setNoDelay(true);
    s.once("error", reject);
  });

/** Milliseconds per 64-byte round trip on one open connection to the echo port. */
async function roundTrips(host: string, port: number, n: number): Promise<number[]> {
  const s = await opened(host, port);
  const msg = Buffer.alloc(64, 0x61);
  const times: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const t = performance.now();
    await new Promise<void>((resolve) => {
      let got = 0;
      const onData = (c: Buffer) => {
        got += c.length;
        if (got >= msg.length) {
          s.off("data", onData);
          resolve();
        }
      };
      s.on("data", onData);
      s.write(msg);
    });
    if (i >= 20) times.push(performance.now() - t); // the first ones warm up both paths
  }
  s.destroy();
  return times;
}

/** Milliseconds for a fresh connection and a GET of a one-byte file. */
async function freshRequests(host: string, port: number, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await download(host, port, "/t");
    if (r.bytes === 0) throw new Error("empty answer");
    times.push(performance.now() - t);
  }
  return times;
}

function fdsOf(pid: number) {
  const fds = readdirSync(`/proc/${pid}/fd`);
  return fds.length;
}
function childrenOf(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).reduce((n, t) => n + readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean).length, 0);
}
function establishedOnPort(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let n = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 3 && f[3] === "01" && (f[1]!.endsWith(hex) || f[2]!.endsWith(hex))) n++;
    }
  }
  return n;
}
/** The agent's sockets inside the pod towards the pod's ports (anything but TIME_WAIT). */
function agentSocketsInPod(): number {
  const out = kubectl("exec", "bench", "--", "busybox", "netstat", "-tn");
  return [...out.matchAll(/\s127\.0\.0\.1:\d+\s+127\.0\.0\.1:(8080|9000)\s+(\S+)/g)].filter((m) => m[2] !== "TIME_WAIT").length;
}

const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 0.5), p99: percentile(s, 0.99) };
};
const f2 = (n: number) => n.toFixed(2);

let exit = 0;
const runtime = new DockerRuntime(process.env.DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET);
try {
  await ensureTestImage(runtime);
  await startServer();
  kubectl("create", "namespace", NS);
  const script = [
    "mkdir -p /srv",
    `busybox dd if=/dev/urandom of=/srv/big bs=1048576 count=${FILE_MB} 2>/dev/null`,
    "echo -n x > /srv/t",
    "httpd -p 8080 -h /srv",
    "nc -ll -p 9000 -e cat &",
    "touch /tmp/ready",
    "trap 'exit 0' TERM; sleep 100000 & wait",
  ].join("\n");
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "bench", namespace: NS }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "b", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sh", "-c", script] }] } };
  const r = Bun.spawnSync({ cmd: kubectlArgs("create", "-f", "-"), stdin: Buffer.from(JSON.stringify(pod)), stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  await until("the pod running with its files", () => Bun.spawnSync({ cmd: kubectlArgs("exec", "bench", "--", "test", "-e", "/tmp/ready") }).exitCode === 0);
  const podIP = JSON.parse(kubectl("get", "pod", "bench", "-o", "json")).status.podIP as string;
  const agentPort = JSON.parse(kubectl("get", "node", NODE, "-o", "json")).status.daemonEndpoints.kubeletEndpoint.Port as number;
  console.log(`port-forward: ${FILE_MB} MB file, ${RUNS} runs, ${TRIPS} round trips, ${SESSIONS} sessions; pod IP ${podIP}; bramble at ${sourceVersion()}`);

  const pf = await forward(8080, 9000);
  const [httpLocal, echoLocal] = pf.local as [number, number];
  const best = async (host: string, port: number) => {
    let top = 0;
    for (let i = 0; i < RUNS; i++) {
      const d = await download(host, port, "/big");
      if (d.bytes < FILE_MB * 1048576) throw new Error(`short download: ${d.bytes} bytes`);
      top = Math.max(top, d.bytes / 1048576 / d.secs);
    }
    return top;
  };
  const directMBs = await best(podIP, 8080);
  const forwardMBs = await best("127.0.0.1", httpLocal);
  const directRtt = stats(await roundTrips(podIP, 9000, TRIPS));
  const forwardRtt = stats(await roundTrips("127.0.0.1", echoLocal, TRIPS));
  const directReq = stats(await freshRequests(podIP, 8080, 100));
  const forwardReq = stats(await freshRequests("127.0.0.1", httpLocal, 100));
  pf.proc.kill("SIGTERM");
  await pf.proc.exited;

  printTable(
    ["measure", "direct to pod IP", "kubectl port-forward", "forward / direct", "added by the forward"],
    [
      ["download MB/s (best)", f2(directMBs), f2(forwardMBs), f2(forwardMBs / directMBs), ""],
      ["64 B round trip p50 ms", f2(directRtt.p50), f2(forwardRtt.p50), f2(forwardRtt.p50 / directRtt.p50), f2(forwardRtt.p50 - directRtt.p50)],
      ["64 B round trip p99 ms", f2(directRtt.p99), f2(forwardRtt.p99), f2(forwardRtt.p99 / directRtt.p99), f2(forwardRtt.p99 - directRtt.p99)],
      ["new connection + GET p50 ms", f2(directReq.p50), f2(forwardReq.p50), f2(forwardReq.p50 / directReq.p50), f2(forwardReq.p50 - directReq.p50)],
      ["new connection + GET p99 ms", f2(directReq.p99), f2(forwardReq.p99), f2(forwardReq.p99 / directReq.p99), f2(forwardReq.p99 - directReq.p99)],
    ],
  );

  // Leftovers after many sessions, each ended the way a user ends one (Ctrl-C).
  await Bun.sleep(1000);
  const before = { children: childrenOf(server!.pid), fds: fdsOf(server!.pid), tunnels: establishedOnPort(agentPort), inPod: agentSocketsInPod(), rss: memoryOf(server!.pid).rss };
  for (let i = 0; i < SESSIONS; i++) {
    const s = await forward(8080);
    const d = await download("127.0.0.1", s.local[0]!, "/t");
    if (d.bytes === 0) throw new Error(`session ${i}: empty answer`);
    s.proc.kill(i % 2 ? "SIGTERM" : "SIGKILL"); // half end politely, half vanish
    await s.proc.exited;
  }
  let after = before;
  const settle = Date.now() + 15_000;
  do {
    await Bun.sleep(500);
    after = { children: childrenOf(server!.pid), fds: fdsOf(server!.pid), tunnels: establishedOnPort(agentPort), inPod: agentSocketsInPod(), rss: memoryOf(server!.pid).rss };
  } while (Date.now() < settle && (after.children > before.children || after.fds > before.fds || after.tunnels > before.tunnels || after.inPod > before.inPod));
  console.log("");
  printTable(
    [`after ${SESSIONS} sessions (half SIGTERM, half SIGKILL)`, "before", "after"],
    [
      ["server child processes (helpers)", before.children, after.children],
      ["server open fds", before.fds, after.fds],
      ["TCP connections to the agent", before.tunnels, after.tunnels],
      ["agent sockets inside the pod", before.inPod, after.inPod],
      ["server RSS MB (agent embedded)", mb(before.rss), mb(after.rss)],
    ],
  );
  const clean = after.children <= before.children && after.fds <= before.fds && after.tunnels <= before.tunnels && after.inPod === 0;
  console.log(clean ? "no leftovers" : "LEFTOVERS");
  if (!clean) exit = 1;
} catch (e) {
  console.error((e as Error).message);
  exit = 1;
} finally {
  if (server && server.exitCode === null) {
    Bun.spawnSync({ cmd: kubectlArgs("delete", "pod", "bench", "--grace-period=1", "--wait=true", "--timeout=30s"), stdout: "ignore", stderr: "ignore" });
    server.kill("SIGTERM");
    const killer = setTimeout(() => server!.kill("SIGKILL"), 15_000);
    await server.exited;
    clearTimeout(killer);
  }
  for (const c of await runtime.listContainers({ [LABELS.podNamespace]: NS })) await runtime.removeContainer(c.id);
  rmSync(work, { recursive: true, force: true });
}
process.exit(exit);
