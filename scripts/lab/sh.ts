// Running commands for the lab: never throws on a non-zero exit unless asked (teardown runs
// many commands that fail harmlessly when there is nothing left to remove).
import { netnsPath } from "./config";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  stdin?: string | Uint8Array;
  /** Killed after this long (default 60 s); the result then has code 124 and says so in stderr. */
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export async function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const p = Bun.spawn(argv, {
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
    env: opts.env as Record<string, string> | undefined,
    cwd: opts.cwd,
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.kill("SIGKILL");
  }, opts.timeoutMs ?? 60_000);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  if (timedOut) return { code: 124, stdout, stderr: `${stderr}\n(killed after ${opts.timeoutMs ?? 60_000} ms: ${argv.join(" ")})` };
  return { code, stdout, stderr };
}

/** Like run(), but a non-zero exit is an error naming the command and its stderr. */
export async function mustRun(argv: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/**
 * argv prefixed to run inside a node's network namespace. nsenter, not `ip netns exec`: that
 * one also remounts /sys, which hides the cgroup mounts dockerd needs.
 */
export const inNetns = (ns: string, argv: string[]) => ["nsenter", `--net=${netnsPath(ns)}`, ...argv];

export async function waitFor<T>(what: string, f: () => Promise<T | undefined | false | null>, timeoutMs: number, context: () => string = () => ""): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await Bun.sleep(250);
  }
  const ctx = context();
  throw new Error(`lab: timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message ?? last})` : ""}${ctx ? `\n${ctx}` : ""}`);
}
