// Starts `bramble sim` as a child process against a bench server (its admin kubeconfig), and waits
// until its nodes are Ready. kill() is SIGKILL by default: a power cut, the heartbeats stop.
import { spawn, type Subprocess } from "bun";
import { join, resolve } from "node:path";
import type { BenchServer } from "./server.ts";

const REPO = resolve(import.meta.dir, "../../..");

export interface BenchSim {
  pid: number;
  prefix: string;
  nodes: number;
  nodeNames: string[];
  /** What the sim printed (the last 20 kB), for a failure message. */
  log(): string;
  /** SIGKILL (or SIGTERM, then SIGKILL after 10 s); resolves when the process is gone. */
  kill(signal?: "SIGKILL" | "SIGTERM"): Promise<void>;
}

export interface SimOptions {
  nodes: number;
  prefix?: string;
  cpu?: string;
  memory?: string;
  pods?: number;
  /** Other `bramble sim` flags, e.g. ["--heartbeat-interval", "10s", "--cluster-cidr", "10.64.0.0/12"]. */
  args?: string[];
  /** Flags for bun itself, e.g. ["--cpu-prof", "--cpu-prof-dir=/tmp/prof"]. */
  bunFlags?: string[];
  /** BRAMBLE_LOG_LEVEL for the sim (default warn). */
  logLevel?: string;
}

export function startBenchSim(server: BenchServer, o: SimOptions): BenchSim {
  const prefix = o.prefix ?? "sim";
  const cmd = [
    process.execPath, ...(o.bunFlags ?? []), join(REPO, "src/main.ts"), "sim",
    "--kubeconfig", server.kubeconfig,
    "--nodes", String(o.nodes), "--prefix", prefix,
    "--cpu", o.cpu ?? "4", "--memory", o.memory ?? "8Gi",
    ...(o.pods ? ["--pods", String(o.pods)] : []),
    ...(o.args ?? []),
  ];
  const proc: Subprocess<"ignore", "pipe", "pipe"> = spawn({ cmd, cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, BRAMBLE_LOG_LEVEL: o.logLevel ?? "warn" } });
  let text = "";
  for (const stream of [proc.stdout, proc.stderr]) {
    void (async () => {
      const d = new TextDecoder();
      try {
        for await (const chunk of stream) text = (text + d.decode(chunk, { stream: true })).slice(-20_000);
      } catch {
        // gone
      }
    })();
  }
  const kill = async (signal: "SIGKILL" | "SIGTERM" = "SIGKILL") => {
    proc.kill(signal);
    const killer = setTimeout(() => proc.kill("SIGKILL"), 10_000); // SIGTERM: a clean stop, or else
    await proc.exited;
    clearTimeout(killer);
  };
  process.on("exit", () => proc.kill("SIGKILL"));
  return { pid: proc.pid, prefix, nodes: o.nodes, nodeNames: Array.from({ length: o.nodes }, (_, i) => `${prefix}-${i}`), log: () => text, kill };
}

interface NodeLike {
  metadata: { name?: string };
  spec?: { unschedulable?: boolean };
  status?: { conditions?: { type: string; status: string }[] };
}

export const nodeReady = (n: NodeLike) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** Polls the node list until every node of `sim` is Ready; returns how long it took (ms). */
export async function waitSimReady(api: { get(path: string): Promise<Response> }, sim: BenchSim, timeoutMs = 120_000): Promise<number> {
  const start = performance.now();
  const names = new Set(sim.nodeNames);
  let ready = 0;
  while (performance.now() - start < timeoutMs) {
    const list = (await (await api.get("/api/v1/nodes")).json()) as { items: NodeLike[] };
    ready = list.items.filter((n) => names.has(n.metadata.name!) && nodeReady(n)).length;
    if (ready === names.size) return performance.now() - start;
    await Bun.sleep(250);
  }
  throw new Error(`only ${ready}/${names.size} nodes of sim ${sim.prefix} Ready after ${timeoutMs} ms\n${sim.log().slice(-2000)}`);
}
