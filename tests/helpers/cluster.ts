// Helpers for cluster tests: `bramble sim` child processes against a TestServer, kubectl
// shorthands that fail loudly, and bounded polling.
//
//   const sim = startSim(server, { nodes: 4, cpu: "4", prefix: "a" });
//   await sim.kill();      // SIGKILL: a power cut, the heartbeats stop
//   await sim.restart();   // the same nodes come back (same flags)
//   stopAllSims();         // in afterAll
import type { Subprocess } from "bun";
import { join } from "node:path";
import { parseJson, ROOT, type TestServer } from "./server";
import { testEnv } from "./env";

const MAIN = join(ROOT, "src", "main.ts");
const sims = new Set<SimProcess>();
process.on("exit", () => {
  for (const s of sims) s.proc.kill("SIGKILL");
});

export interface SimOptions {
  nodes?: number;
  cpu?: string;
  memory?: string;
  pods?: number;
  prefix?: string;
  /** Lease renewal interval (default 1s, so node failure detection is quick). */
  heartbeat?: string;
  labels?: string;
}

export interface SimProcess {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  readonly nodeNames: string[];
  /** stdout and stderr of every run. */
  readonly log: string;
  /** SIGKILL, like a power cut; resolves when the process is gone. */
  kill(): Promise<void>;
  /** Start the same sim again (after kill()). */
  restart(): void;
}

export function startSim(server: TestServer, opts: SimOptions = {}): SimProcess {
  const nodes = opts.nodes ?? 1;
  const prefix = opts.prefix ?? "sim";
  const args = [
    "bun", MAIN, "sim", "--kubeconfig", server.kubeconfig,
    "--nodes", String(nodes), "--prefix", prefix,
    "--cpu", opts.cpu ?? "4", "--memory", opts.memory ?? "8Gi",
    "--heartbeat-interval", opts.heartbeat ?? "1s",
    ...(opts.pods ? ["--pods", String(opts.pods)] : []),
    ...(opts.labels ? ["--node-labels", opts.labels] : []),
  ];
  let log = "";
  let proc!: Subprocess<"ignore", "pipe", "pipe">;
  const spawn = () => {
    proc = Bun.spawn(args, { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: testEnv() });
    log += `--- bramble sim ${prefix} (pid ${proc.pid}) ---\n`;
    for (const stream of [proc.stdout, proc.stderr]) {
      void (async () => {
        const d = new TextDecoder();
        try {
          for await (const chunk of stream) log += d.decode(chunk, { stream: true });
        } catch {
          // gone
        }
      })();
    }
  };
  spawn();
  const sim: SimProcess = {
    get proc() {
      return proc;
    },
    nodeNames: Array.from({ length: nodes }, (_, i) => `${prefix}-${i}`),
    get log() {
      return log;
    },
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
    restart() {
      if (proc.exitCode === null && proc.signalCode === null) throw new Error("restart(): the sim is still running");
      spawn();
    },
  };
  sims.add(sim);
  return sim;
}

/** SIGKILLs every sim started by this test file. */
export async function stopAllSims(): Promise<void> {
  for (const s of sims) s.proc.kill("SIGKILL");
  await Promise.all([...sims].map((s) => s.proc.exited));
  sims.clear();
}

export { eventually } from "./eventually";

/** kubectl bound to one server: `k(...)` must succeed (returns stdout), `kj(...)` parses `-o json`. */
export function kubectlFor(server: TestServer) {
  const k = async (...args: string[]): Promise<string> => {
    const r = await server.kubectl(...args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
    return r.stdout;
  };
  const kj = async (...args: string[]): Promise<any> => parseJson(await server.kubectl(...args, "-o", "json"));
  const apply = async (manifest: string, ...args: string[]): Promise<string> => {
    const r = await server.kubectlWith({ stdin: manifest }, "apply", "-f", "-", ...args);
    if (r.code !== 0) throw new Error(`kubectl apply failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
    return r.stdout;
  };
  /** Pods (items) of `-l selector` in the namespace. */
  const pods = async (selector: string, ns = "default"): Promise<any[]> => (await kj("get", "pods", "-n", ns, "-l", selector)).items;
  return { k, kj, apply, pods };
}

/** Nodes `pods` are bound to, with how many each holds. */
export function podsPerNode(pods: any[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of pods) {
    const n = p.spec?.nodeName;
    if (n) m.set(n, (m.get(n) ?? 0) + 1);
  }
  return m;
}

export const isRunning = (p: any) => p.status?.phase === "Running" && !p.metadata.deletionTimestamp;
export const condition = (obj: any, type: string) => (obj.status?.conditions ?? []).find((c: any) => c.type === type);

/** A Deployment manifest with one container and optional cpu request. */
export function deployment(name: string, o: { replicas: number; image?: string; cpu?: string; labels?: Record<string, string>; extraSpec?: string; ns?: string }): string {
  const labels = o.labels ?? { app: name };
  const labelYaml = JSON.stringify(labels);
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${o.ns ?? "default"}
spec:
  replicas: ${o.replicas}
  selector:
    matchLabels: ${labelYaml}
${o.extraSpec ?? ""}  template:
    metadata:
      labels: ${labelYaml}
    spec:
      containers:
      - name: main
        image: ${o.image ?? "nginx:1.27"}
${o.cpu ? `        resources:\n          requests:\n            cpu: "${o.cpu}"\n` : ""}`;
}
