// A real `bramble server` process for cross-process tests: a temp data dir, a free port, wait for
// /readyz, then drive it with the real kubectl (or plain HTTPS with the admin token).
//
//   const s = await startTestServer();
//   const r = await s.kubectl("get", "ns", "-o", "json");
//   await s.stop();          // SIGTERM, resolves to the exit code
//   await s.restart();       // same data dir, same port
//   await s.cleanup();       // in afterAll: kills whatever still runs, removes the temp dir
//
// Every process started here is also killed when the test process exits, so a failed or
// interrupted test leaves nothing running.

import type { Subprocess } from "bun";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { testEnv } from "./env";

export const ROOT = resolve(import.meta.dir, "..", "..");
const MAIN = join(ROOT, "src", "main.ts");

const live = new Set<Subprocess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/** A port nobody listens on right now (the kernel picks it). */
export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "0.0.0.0", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (e.g. a manifest for `-f -`). */
  stdin?: string;
  /** Default 30 s; kubectl is killed after it and the result says so. */
  timeoutMs?: number;
}

export interface TestServer {
  dataDir: string;
  port: number;
  url: string;
  kubeconfig: string;
  /** Everything the server wrote to stdout and stderr, over all its runs. */
  readonly log: string;
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  /** The admin bearer token and the cluster CA, as read from the data dir. */
  token(): string;
  ca(): string;
  /** kubectl against this server; never throws on a non-zero exit. */
  kubectl(...args: string[]): Promise<KubectlResult>;
  kubectlWith(opts: KubectlOptions, ...args: string[]): Promise<KubectlResult>;
  /** A long-running kubectl (e.g. `get -w`): its output accumulates in `output()`; `stop()` kills it. */
  spawnKubectl(...args: string[]): StreamingProcess;
  /** fetch() against the server with the admin token and the cluster CA. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** SIGTERM; resolves to the exit code (throws if the server does not exit in time). */
  stop(): Promise<number>;
  /** SIGKILL; resolves when it is gone. */
  kill(): Promise<void>;
  /** Start again on the same data dir and port, and wait for /readyz. */
  restart(): Promise<void>;
  /** Kill anything still running and remove the temp dir. Safe to call twice. */
  cleanup(): Promise<void>;
}

export interface StreamingProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  output(): string;
  stderr(): string;
  /** Resolves once `predicate(output)` holds; rejects after `timeoutMs` with the output so far. */
  waitFor(predicate: (out: string) => boolean, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

function collect(stream: ReadableStream<Uint8Array>, sink: (s: string) => void) {
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of stream) sink(decoder.decode(chunk, { stream: true }));
    } catch {
      // the process went away
    }
  })();
}

async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, context: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await Bun.sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context()}`);
}

export interface StartOptions {
  /** Extra `bramble server` flags. */
  args?: string[];
  /**
   * Run the embedded agent (on this machine's Docker engine, as a node with a name of its own, so
   * two test servers sharing the engine never take each other's containers for strays). Off by
   * default: most tests want a control plane whose nodes they make themselves.
   */
  agent?: boolean;
  /**
   * With `agent`: the node gets the name a real server gives it (the hostname), like an installed
   * server's node on this machine, instead of a name of its own.
   */
  defaultNodeName?: boolean;
  /** Milliseconds to wait for /readyz (default 30 s). */
  readyTimeoutMs?: number;
}

/**
 * Test servers share this machine's network namespace and Docker engine, where a pod bridge,
 * routes, iptables chains, a DNS address and the ingress ports per server would collide: their nodes run without
 * them unless a test asks (the multi-node lab, tests/helpers/lab.ts, runs the defaults for real).
 */
export const HOST_SAFE_NETWORKING = ["--flannel-backend=none", "--disable-kube-proxy", "--disable=coredns,ingress"];

function networkingFlags(args: string[] = []): string[] {
  const asked = (flag: string) => args.some((a) => a === flag || a.startsWith(`${flag}=`));
  return [
    ...(asked("--flannel-backend") ? [] : ["--flannel-backend=none"]),
    ...(asked("--disable-kube-proxy") ? [] : ["--disable-kube-proxy"]),
    ...(asked("--disable") ? [] : ["--disable=coredns,ingress"]),
  ];
}

export async function startTestServer(opts: StartOptions = {}): Promise<TestServer> {
  const work = mkdtempSync(join(tmpdir(), "bramble-test-"));
  const dataDir = join(work, "data");
  const cacheDir = join(work, "kube-cache");
  mkdirSync(cacheDir, { recursive: true });
  const kubeconfig = join(dataDir, "server", "admin.kubeconfig");
  const caPath = join(dataDir, "server", "tls", "server-ca.crt");
  const tokenPath = join(dataDir, "server", "admin-token");
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const children = new Set<Subprocess>();
  let log = "";
  let port = freePort();
  let proc!: Subprocess<"ignore", "pipe", "pipe">;
  let expectingExit = false;

  const spawnServer = () => {
    expectingExit = false;
    proc = Bun.spawn(
      ["bun", MAIN, "server", "--data-dir", dataDir, "--https-listen-port", String(port), "--advertise-address", "127.0.0.1", "--bind-address", "127.0.0.1", ...(opts.agent ? (opts.defaultNodeName ? [] : ["--node-name", `test-${basename(work).toLowerCase().replace(/[^a-z0-9]/g, "")}`]) : opts.args?.includes("--disable-agent") ? [] : ["--disable-agent"]), ...networkingFlags(opts.args), ...(opts.args ?? [])],
      { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: testEnv({ BRAMBLE_LOG_LEVEL: process.env.BRAMBLE_LOG_LEVEL ?? "info" }) },
    );
    live.add(proc);
    const p = proc;
    void p.exited.then((code) => {
      live.delete(p);
      // A crash is the most important thing a test can find: say so, with the server's own words.
      if (!expectingExit) console.error(`bramble server (pid ${p.pid}) exited unexpectedly (${p.signalCode ?? code}); its log:\n${log.slice(-20_000)}`);
    });
    log += `--- bramble server (pid ${proc.pid}, port ${port}) ---\n`;
    collect(proc.stdout, (s) => (log += s));
    collect(proc.stderr, (s) => (log += s));
  };

  const readyz = async () => {
    if (!existsSync(caPath) || !existsSync(kubeconfig)) return false;
    try {
      const res = await fetch(`https://127.0.0.1:${port}/readyz`, { tls: { ca: readFileSync(caPath, "utf8") } });
      await res.text();
      return res.status === 200;
    } catch {
      return false;
    }
  };

  const waitReady = async () => {
    const p = proc;
    await waitUntil("the server's /readyz", async () => {
      if (p.exitCode !== null || p.signalCode !== null) throw new Error(`bramble server exited (${p.exitCode ?? p.signalCode}) before it was ready:\n${log}`);
      return readyz();
    }, readyTimeoutMs, () => log);
  };

  const gone = async (timeoutMs: number) => {
    const r = await Promise.race([proc.exited, Bun.sleep(timeoutMs).then(() => "timeout" as const)]);
    return r;
  };

  // The free port can be taken between freePort() and the server's bind: try a few.
  for (let attempt = 1; ; attempt++) {
    spawnServer();
    try {
      await waitReady();
      break;
    } catch (e) {
      expectingExit = true;
      proc.kill("SIGKILL");
      await proc.exited;
      if (attempt >= 3 || !/in use|EADDRINUSE/i.test(log)) {
        rmSync(work, { recursive: true, force: true });
        throw e;
      }
      port = freePort();
    }
  }

  const runKubectl = async (o: KubectlOptions, args: string[]): Promise<KubectlResult> => {
    const p = Bun.spawn(["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", cacheDir, "--request-timeout=20s", ...args], {
      stdin: o.stdin === undefined ? "ignore" : new Blob([o.stdin]),
      env: testEnv(),
      stdout: "pipe",
      stderr: "pipe",
    });
    children.add(p);
    live.add(p);
    const timer = setTimeout(() => p.kill("SIGKILL"), o.timeoutMs ?? 30_000);
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(timer);
    children.delete(p);
    live.delete(p);
    return { code: p.signalCode ? -1 : code, stdout, stderr: p.signalCode ? `${stderr}\n(kubectl killed: ${p.signalCode})` : stderr };
  };

  const server: TestServer = {
    dataDir,
    port,
    url: `https://127.0.0.1:${port}`,
    kubeconfig,
    get log() {
      return log;
    },
    get proc() {
      return proc;
    },
    token: () => readFileSync(tokenPath, "utf8").trim(),
    ca: () => readFileSync(caPath, "utf8"),
    kubectl: (...args) => runKubectl({}, args),
    kubectlWith: (o, ...args) => runKubectl(o, args),
    spawnKubectl(...args) {
      const p = Bun.spawn(["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", cacheDir, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: testEnv() });
      children.add(p);
      live.add(p);
      let out = "";
      let err = "";
      collect(p.stdout, (s) => (out += s));
      collect(p.stderr, (s) => (err += s));
      return {
        proc: p,
        output: () => out,
        stderr: () => err,
        async waitFor(predicate, timeoutMs = 15_000) {
          await waitUntil("kubectl output", () => predicate(out), timeoutMs, () => `kubectl ${args.join(" ")}\nstdout:\n${out}\nstderr:\n${err}`);
          return out;
        },
        async stop() {
          p.kill("SIGKILL");
          await p.exited;
          children.delete(p);
          live.delete(p);
        },
      };
    },
    fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has("authorization")) headers.set("authorization", `Bearer ${server.token()}`);
      return fetch(`${server.url}${path}`, { ...init, headers, tls: { ca: server.ca() } });
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode ?? -1;
      expectingExit = true;
      proc.kill("SIGTERM");
      const r = await gone(20_000);
      if (r === "timeout") {
        proc.kill("SIGKILL");
        await proc.exited;
        throw new Error(`bramble server did not exit within 20 s of SIGTERM:\n${log}`);
      }
      return proc.signalCode ? -1 : r;
    },
    async kill() {
      expectingExit = true;
      proc.kill("SIGKILL");
      await proc.exited;
    },
    async restart() {
      if (proc.exitCode === null && proc.signalCode === null) throw new Error("restart(): the server is still running; stop() or kill() it first");
      spawnServer();
      await waitReady();
    },
    async cleanup() {
      for (const c of children) c.kill("SIGKILL");
      children.clear();
      if (proc.exitCode === null && proc.signalCode === null) {
        expectingExit = true;
        proc.kill("SIGKILL");
        await proc.exited;
      }
      rmSync(work, { recursive: true, force: true });
    },
  };
  return server;
}

/** Parses kubectl's `-o json` output, failing with kubectl's stderr when it did not succeed. */
export function parseJson(r: KubectlResult): any {
  if (r.code !== 0) throw new Error(`kubectl failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout);
}
