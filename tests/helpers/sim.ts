// Simulated nodes for a test server: a `bramble sim` child process on the server's admin
// kubeconfig. Its log is kept for failure messages; kill() is safe to call twice.
import { join } from "node:path";
import { testEnv } from "./env";
import { ROOT, type TestServer } from "./server";

export interface SimNodes {
  /** What the sim wrote to stderr so far. */
  log(): string;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
}

/** `bramble sim --nodes N` with 1 s heartbeats; `flags` add or override (`--cpu 4`, `--memory 8Gi`, ...). */
export function startSimNodes(server: Pick<TestServer, "kubeconfig">, nodes: number, ...flags: string[]): SimNodes {
  const proc = Bun.spawn(["bun", join(ROOT, "src", "main.ts"), "sim", "--kubeconfig", server.kubeconfig, "--nodes", String(nodes), "--heartbeat-interval", "1s", ...flags], {
    cwd: ROOT,
    env: testEnv(),
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  let log = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) log += decoder.decode(chunk, { stream: true });
  })();
  return {
    log: () => log,
    kill: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}
