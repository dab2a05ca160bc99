// Stopping containers the way Kubernetes promises: preStop hook, then the stop signal, then
// SIGKILL when the grace period (counted from the start of preStop) runs out. Also the clean-up
// of a pod's directory, including tmpfs mounts of memory-backed emptyDirs.
import { existsSync, readFileSync, rmSync } from "node:fs";
import type { Container } from "../../api/resources/core/podspec.schema";
import type { ContainerInfo, ContainerRuntime } from "../runtime/runtime";
import { runAction } from "./handlers";

/** Upstream gives containers at least this long after preStop before SIGKILL. */
const MIN_GRACE_AFTER_PRESTOP_S = 2;

export async function stopContainer(runtime: ContainerRuntime, c: ContainerInfo, spec: Container | undefined, graceSeconds: number, podIP: string | undefined): Promise<void> {
  const deadline = Date.now() + graceSeconds * 1000;
  const preStop = spec?.lifecycle?.preStop;
  if (preStop && c.state === "running" && graceSeconds > 0) {
    await runAction(preStop, { runtime, containerId: c.id, container: spec!, podIP }, graceSeconds * 1000);
  }
  const left = preStop ? Math.max(MIN_GRACE_AFTER_PRESTOP_S, (deadline - Date.now()) / 1000) : graceSeconds;
  await runtime.stopContainer(c.id, Math.ceil(left));
}

/** Unmounts whatever is mounted under dir (tmpfs emptyDirs), deepest first, then removes it. */
export function removePodDir(dir: string): void {
  if (!existsSync(dir)) return;
  try {
    const mounts = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[1]?.replace(/\\040/g, " "))
      .filter((m): m is string => !!m && m.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) Bun.spawnSync(["umount", "-l", m]);
  } catch {}
  rmSync(dir, { recursive: true, force: true });
}

/** tmpfs for emptyDir medium Memory, shared by the pod's containers; false without privileges. */
export async function mountTmpfs(dir: string, sizeBytes?: number): Promise<boolean> {
  try {
    const args = ["mount", "-t", "tmpfs", ...(sizeBytes ? ["-o", `size=${sizeBytes}`] : []), "tmpfs", dir];
    return Bun.spawnSync(args, { stderr: "ignore", stdout: "ignore" }).exitCode === 0;
  } catch {
    return false;
  }
}
