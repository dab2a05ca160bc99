// `bramble reset [--force]`: flags → resetNode(). Asks first unless --force, like kubeadm reset.
import { parseFlags } from "./argv";
import { boolFlag, stringFlag } from "./flags";
import { defaultDataDir, hostFacts } from "./host";
import { DEFAULT_DOCKER_SOCKET } from "./agent";
import type { FlagSpec } from "./server";
import { hostname } from "node:os";
import { resolve } from "node:path";

export const RESET_FLAGS: FlagSpec[] = [
  { name: "force", description: "Do not ask for confirmation" },
  { name: "data-dir", value: "<path>", description: "The data dir to clean (default: /var/lib/bramble as root, ~/.bramble otherwise)" },
  { name: "docker-socket", value: "<path>", description: `The Docker engine's socket (default: ${DEFAULT_DOCKER_SOCKET})` },
];

async function confirm(question: string): Promise<boolean> {
  process.stdout.write(`${question} [y/N]: `);
  for await (const line of console) return /^y(es)?$/i.test(line.trim());
  return false; // stdin closed: no answer is no
}

export async function runReset(args: readonly string[]): Promise<void> {
  const raw = parseFlags(args, RESET_FLAGS);
  const dataDir = resolve(stringFlag(raw, "data-dir") ?? defaultDataDir(hostFacts()));
  const dockerSocket = stringFlag(raw, "docker-socket") ?? DEFAULT_DOCKER_SOCKET;
  if (!boolFlag(raw, "force")) {
    const ok = await confirm(`This removes the containers and networks of the cluster in ${dataDir}, bramble's routes and iptables chains, and all state in ${dataDir} from this machine. Continue?`);
    if (!ok) throw new Error("reset cancelled");
  }
  const { resetNode } = await import("../agent/reset");
  // A server's embedded agent names its node after the hostname unless given --node-name.
  const { failures } = await resetNode({ dataDir, dockerSocket, defaultNodeName: hostname().toLowerCase(), say: (l) => process.stdout.write(l + "\n") });
  if (failures) throw new Error(`reset finished with ${failures} failed step(s); see above`);
}
