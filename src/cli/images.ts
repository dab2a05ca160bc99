// `bramble images import FILE.tar...`: loads image archives (`docker save` output) into the node's
// container engine, for air-gapped nodes. The agent also imports any archive dropped in
// <data-dir>/agent/images/ when it starts.
import { existsSync } from "node:fs";
import { parseFlags } from "./argv";
import { stringFlag } from "./flags";
import { DEFAULT_DOCKER_SOCKET } from "./agent";
import type { FlagSpec } from "./server";

export const IMAGES_FLAGS: FlagSpec[] = [
  { name: "docker-socket", value: "<path>", description: `The Docker engine's socket (default: ${DEFAULT_DOCKER_SOCKET})` },
];

export async function runImages(args: readonly string[]): Promise<void> {
  const [verb, ...rest] = args;
  if (verb !== "import") throw new Error(`unknown images command "${verb ?? ""}" (use: bramble images import FILE.tar...)`);
  // Flags (and a flag's separate value) go to the flag parser; every other word is a file.
  const flagArgs: string[] = [];
  const files: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (!a.startsWith("--")) files.push(a);
    else flagArgs.push(a, ...(a.includes("=") || i + 1 >= rest.length ? [] : [rest[++i]!]));
  }
  const raw = parseFlags(flagArgs, IMAGES_FLAGS);
  if (!files.length) throw new Error("images import: name at least one image archive (FILE.tar)");
  for (const f of files) if (!existsSync(f)) throw new Error(`images import: ${f}: no such file`);
  const { DockerRuntime } = await import("../agent/runtime/docker/docker");
  const { importImageFile } = await import("../agent/images/import");
  const runtime = new DockerRuntime(stringFlag(raw, "docker-socket") ?? DEFAULT_DOCKER_SOCKET);
  for (const f of files) {
    const tags = await importImageFile(runtime, f);
    process.stdout.write(`${f}: ${tags.length ? tags.join(", ") : "imported (untagged)"}\n`);
  }
}
