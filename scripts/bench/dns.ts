// Cluster DNS: queries/s and latency from a pod, for cluster names, search-path misses
// and forwarded names, against the node's upstream resolver measured in the same run.
//
// "From a pod": the load generator (scripts/bench/lib/dnsload.ts) runs in the network namespace
// of a real container on the host Docker engine (bramble/busybox:test, imported from
// /bin/busybox), entered with nsenter; the servers listen on the docker0 gateway address, as the
// agent's DNS listens on the cluster DNS IP that pods reach through their bridge. Without
// Docker (or with --from-host) it runs from the host against 127.0.0.1, and the table says so.
//
// The upstream: this machine's /etc/resolv.conf names a resolver outside the machine, which no
// benchmark may load (the workplace's traffic rules: load only on addresses of this machine).
// So the "node's upstream resolver" is dnsmasq (Debian's dnsmasq-base) on the same address,
// answering *.example.test from its configuration — a real, widely deployed C resolver doing
// the least work an upstream can do; without dnsmasq, a Bun fake upstream, and the table says so.
//
// The bramble server is src/agent/dns/static-serve.ts: the agent's query path (records,
// resolver, forwarder, sockets) with 1,000 Services loaded directly instead of through an API
// server (the informers only fill the same records). Each server and the load generator run
// in processes of their own; the machine has 2 cores, shared with whatever else is running.
//   bun scripts/bench/dns.ts [--seconds 3] [--rounds 3] [--concurrency 32] [--services 1000] [--from-host]
import { spawn, type Subprocess } from "bun";
import { mkdtempSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { ensureTestImage, TEST_IMAGE } from "../../src/agent/images/testimage.ts";
import { DockerRuntime, DEFAULT_DOCKER_SOCKET } from "../../src/agent/runtime/docker/docker.ts";
import { cpuModel, mb, memoryOf } from "./lib/proc.ts";
import { printTable } from "./lib/table.ts";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    rounds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "32" },
    services: { type: "string", default: "1000" },
    "from-host": { type: "boolean", default: false },
  },
});
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const CONC = Number(args.concurrency);
const SERVICES = Number(args.services);
const REPO = resolve(import.meta.dir, "../..");
const RUN = Date.now().toString(36);
const LABEL = `io.bramble.bench=dns-${RUN}`;
const BUN = process.execPath;

function sh(cmd: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync({ cmd, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString().trim(), err: r.stderr.toString().trim() };
}

const children: Subprocess[] = [];
let container: string | undefined;

async function cleanup() {
  for (const c of children) c.kill();
  await Promise.all(children.map((c) => c.exited));
  if (container) sh(["docker", "rm", "-f", container]);
}
process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));

/** Starts a server process and waits for its "listening <port>" line. */
async function startServer(cmd: string[]): Promise<{ proc: Subprocess<"ignore", "pipe", "inherit">; port: number }> {
  const proc = spawn({ cmd, stdout: "pipe", stderr: "inherit", stdin: "ignore" });
  children.push(proc);
  const reader = proc.stdout.getReader();
  let text = "";
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    const m = /listening (\d+)/.exec(text);
    if (m) {
      reader.releaseLock();
      return { proc, port: Number(m[1]) };
    }
  }
  throw new Error(`${cmd.join(" ")} did not start: ${text}`);
}

/**
 * dnsmasq as the upstream, answering from its configuration only (no forwarding): *.example.test
 * → 192.0.2.1 with TTL 0 (--address; nothing may keep it), cached-N.example.org → 192.0.2.2 with
 * TTL 30 (host-record lines in a conf file of this run).
 */
async function startDnsmasq(address: string, cachedNames: string[]): Promise<{ proc: Subprocess; port: number }> {
  const conf = join(mkdtempSync(join(tmpdir(), "bdn-bench-")), "dnsmasq.conf");
  writeFileSync(conf, cachedNames.map((n) => `host-record=${n},192.0.2.2,30\n`).join(""));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const proc = spawn({
      cmd: ["dnsmasq", "--keep-in-foreground", `--conf-file=${conf}`, "--no-resolv", "--no-hosts", "--bind-interfaces", `--listen-address=${address}`, `--port=${port}`, "--address=/example.test/192.0.2.1", "--user=root", "--pid-file=", "--log-facility=/dev/null"],
      stdout: "ignore",
      stderr: "pipe",
    });
    await Bun.sleep(300);
    if (proc.exitCode === null) {
      children.push(proc);
      return { proc, port };
    }
  }
  throw new Error("dnsmasq did not start");
}

interface Load {
  sent: number;
  answered: number;
  timeouts: number;
  /** ICMP errors seen by the load generator's socket (a server not listening). */
  errors?: number;
  rcodes: Record<string, number>;
  qps: number;
  p50: number;
  p99: number;
}

let inPod: string[] = [];

async function load(server: string, names: string[], concurrency: number): Promise<Load> {
  const cmd = [...inPod, BUN, `${REPO}/scripts/bench/lib/dnsload.ts`, "--server", server, "--names", names.join(","), "--concurrency", String(concurrency), "--seconds", String(SECONDS)];
  const r = Bun.spawnSync({ cmd, stdout: "pipe", stderr: "inherit" });
  if (r.exitCode !== 0) throw new Error(`load generator failed (exit ${r.exitCode}) against ${server}; servers alive: ${children.map((c) => `${c.pid}:${c.exitCode ?? "running"}`).join(" ")}`);
  return JSON.parse(r.stdout.toString().trim().split("\n").pop()!);
}

try {
  // --- where the load comes from -------------------------------------------------------------
  let address = "127.0.0.1";
  let from = "host (loopback)";
  if (!args["from-host"] && sh(["docker", "info"]).code === 0) {
    await ensureTestImage(new DockerRuntime(DEFAULT_DOCKER_SOCKET));
    const run = sh(["docker", "run", "-d", "--rm", "--label", LABEL, "--network", "bridge", TEST_IMAGE, "sleep", "600"]);
    if (run.code !== 0) throw new Error(`docker run: ${run.err}`);
    container = run.out;
    const pid = sh(["docker", "inspect", "-f", "{{.State.Pid}}", container]).out;
    address = sh(["docker", "inspect", "-f", "{{.NetworkSettings.Gateway}}", container]).out;
    inPod = ["nsenter", `--net=/proc/${pid}/ns/net`];
    from = `a container on docker0 (bridge), servers on the gateway ${address}`;
  }

  // --- the servers ----------------------------------------------------------------------------
  const hasDnsmasq = sh(["which", "dnsmasq"]).code === 0;
  const cacheable = Array.from({ length: 500 }, (_, i) => `cached-${i}.example.org`);
  const upstream = hasDnsmasq ? await startDnsmasq(address, cacheable) : await startServer([BUN, `${REPO}/scripts/bench/lib/dns-fake-upstream.ts`, address, "0"]);
  const upstreamName = hasDnsmasq ? "dnsmasq (upstream stand-in)" : "Bun fake upstream (no dnsmasq: TTL 60 everywhere, so both forwarded rows are cache hits, and cached-N names fail)";
  const bramble = await startServer([BUN, `${REPO}/src/agent/dns/static-serve.ts`, address, "0", String(SERVICES), `${address}:${upstream.port}`]);
  const idle = await startServer([BUN, "-e", "console.log('listening 0'); setInterval(() => {}, 1 << 30)"]);
  const ups = `${address}:${upstream.port}`;
  const br = `${address}:${bramble.port}`;

  const clusterNames = Array.from({ length: Math.min(SERVICES, 500) }, (_, i) => `svc-${i}.default.svc.cluster.local`);
  const misses = clusterNames.slice(0, 200).map((n) => `${n}.default.svc.cluster.local`);
  const external = Array.from({ length: 500 }, (_, i) => `host-${i}.example.test`);

  await Bun.sleep(500);
  const brambleIdle = memoryOf(bramble.proc.pid);
  // Warm-up (JIT, caches) for both servers, not counted.
  await load(br, clusterNames.slice(0, 10), 4);
  await load(ups, external.slice(0, 10), 4);

  // Rounds interleave the baseline and bramble, and each figure is the median over rounds, so a
  // burst of load from elsewhere on the machine hits both sides instead of one row.
  const scenarios = [
    { what: "host-N.example.test (baseline)", server: "upstream directly", target: ups, names: external },
    { what: "svc-N.default.svc.cluster.local", server: "bramble", target: br, names: clusterNames },
    { what: "svc-N.default.svc.cluster.local.default.svc.cluster.local (search-path miss)", server: "bramble", target: br, names: misses },
    { what: "host-N.example.test (forwarded, TTL 0: never cached)", server: "bramble → upstream", target: br, names: external },
    { what: "cached-N.example.org (forwarded, TTL 30: cache hits after the first)", server: "bramble (→ upstream)", target: br, names: cacheable },
  ];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const table: (string | number)[][] = [];
  for (const conc of [1, CONC]) {
    const runs: Load[][] = scenarios.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, sc] of scenarios.entries()) runs[i]!.push(await load(sc.target, sc.names, conc));
    }
    for (const [i, sc] of scenarios.entries()) {
      const r = runs[i]!;
      const ratio = median(r.map((x, k) => x.qps / runs[0]![k]!.qps));
      const rcodes = new Map<string, number>();
      for (const x of r) for (const [k, v] of Object.entries(x.rcodes)) rcodes.set(k, (rcodes.get(k) ?? 0) + v);
      table.push([
        sc.what,
        sc.server,
        conc,
        Math.round(median(r.map((x) => x.qps))),
        ratio.toFixed(2),
        median(r.map((x) => x.p50)).toFixed(3),
        median(r.map((x) => x.p99)).toFixed(3),
        `${r.reduce((n, x) => n + x.timeouts, 0)}/${r.reduce((n, x) => n + (x.errors ?? 0), 0)}`,
        [...rcodes].map(([k, v]) => `${k}:${v}`).join(" "),
      ]);
    }
  }

  const brambleMem = memoryOf(bramble.proc.pid);
  const idleMem = memoryOf(idle.proc.pid);
  console.log(`# DNS benchmark, ${new Date().toISOString()}, ${cpuModel()}, median of ${ROUNDS} interleaved rounds of ${SECONDS} s per row; load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  console.log(`# load from: ${from}; upstream: ${upstreamName}; bramble DNS with ${SERVICES} Services`);
  printTable(["names", "server", "in flight", "queries/s", "× baseline", "p50 ms", "p99 ms", "lost/ICMP errors", "rcodes (all rounds)"], table);
  console.log("");
  printTable(
    ["process", "RSS MB", "peak RSS MB"],
    [
      [`bramble DNS (static-serve, ${SERVICES} Services), before any query`, mb(brambleIdle.rss), mb(brambleIdle.hwm)],
      [`bramble DNS, after the load`, mb(brambleMem.rss), mb(brambleMem.hwm)],
      ["bare Bun process (same-run baseline)", mb(idleMem.rss), mb(idleMem.hwm)],
    ],
  );
} finally {
  await cleanup();
}
