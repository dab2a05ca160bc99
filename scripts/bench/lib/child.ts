// Child processes of a benchmark (servers, agents): started with their output kept (the last
// 20 KB, for error messages), stopped with SIGTERM then SIGKILL, and all killed if the
// benchmark exits early.
import { spawn, type Subprocess } from "bun";
import { resolve } from "node:path";

const REPO = resolve(import.meta.dir, "../../..");

export interface Child {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  log(): string;
  stop(): Promise<void>;
}

const children = new Set<Subprocess>();
process.on("exit", () => {
  for (const p of children) p.kill("SIGKILL");
});

export function startChild(cmd: string[], env: Record<string, string> = {}): Child {
  const proc = spawn({ cmd, cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, BRAMBLE_LOG_LEVEL: "warn", ...env } });
  children.add(proc);
  let text = "";
  for (const stream of [proc.stdout, proc.stderr]) {
    void (async () => {
      const d = new TextDecoder();
      try {
        for await (const chunk of stream) text = (text + d.decode(chunk, { stream: true })).slice(-20_000);
      } catch {
        // the process is gone
      }
    })();
  }
  return {
    proc,
    log: () => text,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const killer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
        await proc.exited;
        clearTimeout(killer);
      }
      children.delete(proc);
    },
  };
}
