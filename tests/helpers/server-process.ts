// A `bramble server` run as a command given whole (the compiled binary, or it under qemu), for the
// tests that check a build rather than the source: its output kept for failure messages, ready
// once /readyz answers over TLS verified against the cluster CA and the kubeconfig is written.
import type { Subprocess } from "bun";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { eventually } from "./eventually";
import { testEnv } from "./env";

export class ServerProcess {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  private output = "";

  constructor(
    command: string[],
    readonly dataDir: string,
    readonly port: number,
    cwd?: string,
  ) {
    this.proc = Bun.spawn(command, { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: testEnv() });
    for (const stream of [this.proc.stdout, this.proc.stderr]) void this.collect(stream);
  }

  private async collect(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    for await (const chunk of stream) this.output += decoder.decode(chunk);
  }

  get log() {
    return this.output;
  }

  get kubeconfig() {
    return join(this.dataDir, "server", "admin.kubeconfig");
  }

  async waitReady(timeoutMs = 30_000) {
    const caPath = join(this.dataDir, "server", "tls", "server-ca.crt");
    await eventually(
      "the server's /readyz",
      async () => {
        if (this.proc.exitCode !== null) throw new Error(`server exited with ${this.proc.exitCode}`);
        if (!existsSync(caPath) || !existsSync(this.kubeconfig)) return false;
        const res = await fetch(`https://127.0.0.1:${this.port}/readyz`, { tls: { ca: readFileSync(caPath, "utf8") } });
        return res.status === 200;
      },
      { timeoutMs, intervalMs: 100, context: () => this.output },
    );
  }

  /** SIGTERM; the exit code, or a failure (and SIGKILL) after timeoutMs. */
  async terminate(timeoutMs = 15_000): Promise<number> {
    this.proc.kill("SIGTERM");
    const code = await Promise.race([this.proc.exited, Bun.sleep(timeoutMs).then(() => "timeout" as const)]);
    if (code === "timeout") {
      this.proc.kill("SIGKILL");
      throw new Error(`server did not exit within ${timeoutMs / 1000} s of SIGTERM:\n${this.output}`);
    }
    return code;
  }
}
