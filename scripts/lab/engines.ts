// A Docker engine per node, as TESTBED.md shows: dockerd inside the node's network namespace
// (through nsenter) with its own data root, exec root (so its own managed containerd), socket,
// pid file, containerd namespace and docker0 range. Each gets the busybox test image.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ensureTestImage } from "../../src/agent/images/testimage";
import { DockerRuntime } from "../../src/agent/runtime/docker/docker";
import type { LabNodeSpec, NodePaths } from "./config";
import { alive, endProcesses, labProcessesOf, readPid, spawnDetached, tail } from "./processes";
import { inNetns, run, waitFor } from "./sh";

export function startEngine(node: LabNodeSpec, p: NodePaths): number {
  mkdirSync(p.dockerData, { recursive: true });
  mkdirSync(p.dockerExec, { recursive: true });
  const argv = inNetns(node.ns, [
    "dockerd",
    "--data-root", p.dockerData,
    "--exec-root", p.dockerExec,
    "-H", `unix://${p.dockerSocket}`,
    "--pidfile", p.dockerPid,
    "--bip", node.bip,
    "--containerd-namespace", node.ns,
    "--containerd-plugins-namespace", `${node.ns}-plugins`,
  ]);
  // dockerd writes its pid file only once it is up: record nsenter's pid (= dockerd's, since
  // nsenter execs) at once, so a start that hangs is still found by teardown.
  return spawnDetached(argv, { logFile: p.dockerLog, pidFile: p.enginePid });
}

export async function waitForEngine(node: LabNodeSpec, p: NodePaths, timeoutMs = 60_000): Promise<DockerRuntime> {
  const runtime = new DockerRuntime(p.dockerSocket);
  await waitFor(`the Docker engine of ${node.name} at ${p.dockerSocket}`, async () => {
    const pid = readPid(p.enginePid);
    if (pid !== undefined && !alive(pid)) throw new Error(`dockerd of ${node.name} exited:\n${tail(p.dockerLog)}`);
    await runtime.version();
    return true;
  }, timeoutMs, () => tail(p.dockerLog));
  await ensureTestImage(runtime);
  return runtime;
}

/**
 * Removes every container of the engine (quicker than dockerd's shutdown stopping them one by
 * one), ends dockerd and its session (containerd, shims), unmounts what it left mounted under
 * its folders. Safe when the engine never started or is already gone.
 */
export async function stopEngine(p: NodePaths, marker: string): Promise<string[]> {
  const problems: string[] = [];
  if (existsSync(p.dockerSocket)) {
    const ids = await run(["docker", "-H", `unix://${p.dockerSocket}`, "ps", "-aq"], { timeoutMs: 10_000 });
    const list = ids.stdout.split("\n").filter(Boolean);
    // Best effort: a container Docker cannot remove (a busy overlay) is ended below with the
    // engine, and its mounts are taken down with the rest; what really remains is checked at the end.
    if (ids.code === 0 && list.length) await run(["docker", "-H", `unix://${p.dockerSocket}`, "rm", "-f", "-v", ...list], { timeoutMs: 60_000 });
  }
  await endProcesses([...new Set([...labProcessesOf(p.enginePid, marker), ...labProcessesOf(p.dockerPid, marker)])], 15_000);
  // Containers outlive a dockerd that was killed (their shims keep them): find them by the IDs
  // this engine gave them, in the cgroups Docker put them in.
  await endProcesses(containerProcesses(p.dockerData), 0);
  // containerd's shims run in containerd's session (containerd.pid), not dockerd's.
  await endProcesses(labProcessesOf(join(p.dockerExec, "containerd", "containerd.pid"), marker), 0);
  problems.push(...(await unmountUnder(p.dir)));
  const still = mountsUnder(p.dir);
  if (still.length) problems.push(`still mounted under ${p.dir}: ${still.join(", ")}`);
  return problems;
}

const CGROUP_ROOT = "/sys/fs/cgroup";

/** Pids in the cgroups of the containers an engine made (cgroup v1 controllers, or v2), by container ID. */
export function containerProcesses(dockerData: string): number[] {
  const containers = join(dockerData, "containers");
  if (!existsSync(containers)) return [];
  const ids = readdirSync(containers).filter((id) => /^[0-9a-f]{64}$/.test(id));
  if (!ids.length) return [];
  const hierarchies = [CGROUP_ROOT, ...readdirSync(CGROUP_ROOT).map((c) => join(CGROUP_ROOT, c))];
  const pids = new Set<number>();
  for (const id of ids) {
    for (const h of hierarchies) {
      for (const dir of [join(h, "docker", id), join(h, "system.slice", `docker-${id}.scope`)]) {
        try {
          for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) if (line.trim()) pids.add(Number(line));
        } catch {
          // not in this hierarchy
        }
      }
    }
  }
  return [...pids];
}

/** Lazily unmounts everything mounted at or below dir (overlays, netns and shm mounts), deepest first. */
export async function unmountUnder(dir: string): Promise<string[]> {
  const mounts = mountsUnder(dir).sort((a, b) => b.length - a.length);
  const problems: string[] = [];
  for (const m of new Set(mounts)) {
    const r = await run(["umount", "-l", m]);
    if (r.code !== 0 && !/not mounted|no mount point/i.test(r.stderr)) problems.push(`umount ${m}: ${r.stderr.trim()}`);
  }
  return problems;
}

/** Mount points at or below dir, as this process's mount namespace (the host's) shows them. */
export function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
    .map((m) => m.replace(/\\040/g, " "));
}

/** Removes a folder that may still hold an engine's files (read-only bits are not an obstacle to root). */
export function removeTree(dir: string): string[] {
  try {
    rmSync(dir, { recursive: true, force: true });
    return [];
  } catch (e) {
    const left = existsSync(dir) ? readdirSync(dir).join(", ") : "";
    return [`rm -rf ${dir}: ${(e as Error).message}${left ? ` (left: ${left})` : ""}`];
  }
}
