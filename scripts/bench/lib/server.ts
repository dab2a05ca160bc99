// Starts the real `bramble server` as a child process for benchmarks, on a free port and a fresh
// data directory, and reads the admin credentials it writes, the way a user's kubectl would.
import { spawn, type Subprocess } from "bun";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readKubeconfig, resolveContext } from "../../../src/client/kubeconfig.ts";

const REPO = resolve(import.meta.dir, "../../..");

export interface BenchServer {
  pid: number;
  /** The admin kubeconfig the server wrote (for `bramble sim`, kubectl). */
  kubeconfig: string;
  url: string;
  port: number;
  token: string;
  caCertPem: string;
  dataDir: string;
  /** Start attempts it took (a start that exits before becoming ready is retried). */
  attempts: number;
  /** What the server printed, for a failure message. */
  log(): string;
  /** SIGTERM, wait for exit, remove the data directory. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Flags for bun itself, e.g. ["--smol"] or ["--cpu-prof", "--cpu-prof-dir=/tmp/prof"]. */
  bunFlags?: string[];
  /** Run this compiled bramble binary instead of `bun src/main.ts`. */
  binary?: string;
  /** Run the server under `taskset -c <cpus>`. */
  cpus?: string;
  /** Parent directory for the data dir (default: the OS temp dir, a real disk on these machines). */
  parentDir?: string;
  readyTimeoutMs?: number;
  maxAttempts?: number;
  /** Extra `bramble server` flags, e.g. ["--cluster-cidr", "10.64.0.0/12"]. */
  args?: string[];
}

/** A port nobody listens on right now (several engineers share these machines). */
export function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

export async function startBenchServer(opts: StartOptions = {}): Promise<BenchServer> {
  const maxAttempts = opts.maxAttempts ?? 5;
  let lastError = "";
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const dataDir = mkdtempSync(join(opts.parentDir ?? tmpdir(), "bramble-bench-"));
    const port = freePort();
    const cmd = [
      ...(opts.cpus ? ["taskset", "-c", opts.cpus] : []),
      ...(opts.binary ? [resolve(opts.binary)] : [process.execPath, ...(opts.bunFlags ?? []), join(REPO, "src/main.ts")]),
      "server",
      "--data-dir", dataDir,
      "--https-listen-port", String(port),
      "--bind-address", "127.0.0.1",
      "--advertise-address", "127.0.0.1",
      // Benchmarks bring their own (simulated) nodes; the embedded agent would add a real one.
      ...(opts.args?.includes("--disable-agent") ? [] : ["--disable-agent"]),
      ...(opts.args ?? []),
    ];
    const proc = spawn({ cmd, cwd: REPO, stdout: "pipe", stderr: "pipe", env: { ...process.env, BRAMBLE_LOG_LEVEL: "warn" } });
    const output = collect(proc);
    try {
      const creds = await waitReady(proc, dataDir, port, opts.readyTimeoutMs ?? 20_000);
      return {
        pid: proc.pid,
        kubeconfig: join(dataDir, "server", "admin.kubeconfig"),
        port,
        dataDir,
        attempts: attempt,
        ...creds,
        log: () => output.text,
        stop: async () => {
          proc.kill("SIGTERM");
          const killer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
          await proc.exited;
          clearTimeout(killer);
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    } catch (e) {
      proc.kill("SIGKILL");
      await proc.exited;
      rmSync(dataDir, { recursive: true, force: true });
      lastError = `${(e as Error).message}\n${output.text.trim()}`;
      console.error(`[bench] server start attempt ${attempt} failed: ${lastError.split("\n").slice(0, 3).join(" | ")}`);
    }
  }
  throw new Error(`bramble server did not start in ${maxAttempts} attempts:\n${lastError}`);
}

function collect(proc: Subprocess<"ignore", "pipe", "pipe">) {
  const out = { text: "" };
  for (const stream of [proc.stdout, proc.stderr]) {
    (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) out.text = (out.text + decoder.decode(chunk)).slice(-20_000);
    })();
  }
  return out;
}

async function waitReady(proc: Subprocess, dataDir: string, port: number, timeoutMs: number) {
  const kubeconfigPath = join(dataDir, "server", "admin.kubeconfig");
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`server exited (${proc.exitCode ?? proc.signalCode}) before it was ready`);
    if (existsSync(kubeconfigPath)) {
      const creds = resolveContext(readKubeconfig(kubeconfigPath));
      const res = await fetch(`https://127.0.0.1:${port}/readyz`, { tls: { ca: creds.caCertPem } }).catch(() => undefined);
      if (res?.ok) return { url: creds.server, token: creds.token!, caCertPem: creds.caCertPem! };
    }
    await Bun.sleep(50);
  }
  throw new Error(`server not ready within ${timeoutMs} ms`);
}
