// Facts about the machine a real agent runs on, for its Node object: capacity, OS image,
// kernel, ids. Each read tolerates a missing file (containers, non-root, odd distros) and falls
// back to what upstream's kubelet would report without it.
import { readFileSync } from "node:fs";
import { availableParallelism, release, totalmem } from "node:os";
import { goArch, type NodeSystemFacts } from "./spec";

const readTrimmed = (path: string) => {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
};

/** PRETTY_NAME from an os-release file's text ("Debian GNU/Linux 12 (bookworm)"). */
export function osImageFrom(osRelease: string | undefined): string {
  for (const line of (osRelease ?? "").split("\n")) {
    const m = /^PRETTY_NAME=(.*)$/.exec(line.trim());
    if (m) return m[1]!.replace(/^(["'])(.*)\1$/, "$2");
  }
  return "Unknown";
}

/** Without the Docker version (engine unreachable) the runtime is still known to be Docker. */
export const UNKNOWN_DOCKER = "docker://unknown";

export function hostSystemFacts(containerRuntimeVersion = UNKNOWN_DOCKER): NodeSystemFacts {
  return {
    osImage: osImageFrom(readTrimmed("/etc/os-release") ?? readTrimmed("/usr/lib/os-release")),
    kernelVersion: release(),
    containerRuntimeVersion,
    architecture: goArch(),
    operatingSystem: "linux",
    machineID: readTrimmed("/etc/machine-id") ?? "",
    // Readable by root only; upstream leaves it empty too when it cannot read it.
    systemUUID: readTrimmed("/sys/class/dmi/id/product_uuid") ?? "",
    bootID: readTrimmed("/proc/sys/kernel/random/boot_id") ?? "",
  };
}

/** cpu and memory as the kubelet reports them: logical CPUs, MemTotal in Ki. */
export function hostCapacity(): { cpu: string; memory: string; pods: string } {
  return { cpu: String(availableParallelism()), memory: `${Math.floor(totalmem() / 1024)}Ki`, pods: "110" };
}
