// bramble on the lab's nodes: the server (with its embedded agent) in the first namespace, then
// the real join flow — `bramble token create --print-join-command` on the host with the admin
// kubeconfig — and each agent started with the printed command plus its node's own flags.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { API_PORT, BRAMBLE_SOURCE, MAIN, type LabNodeSpec, type NodePaths } from "./config";
import { alive, endProcesses, labProcessesOf, readPid, spawnDetached, tail } from "./processes";
import { inNetns, run, waitFor, type RunResult } from "./sh";

/** What every bramble process of the lab gets: its own engine, no test-run leftovers. */
export function brambleEnv(root: string, dockerSocket?: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, HOME: root, BRAMBLE_LOG_LEVEL: process.env.BRAMBLE_LOG_LEVEL ?? "info" };
  // Other tests in the same `bun test` process set these for their own servers.
  delete env.BRAMBLE_KUBELET_PORT;
  delete env.DOCKER_SOCKET;
  delete env.KUBECONFIG;
  if (dockerSocket) env.BRAMBLE_DOCKER_SOCKET = dockerSocket;
  else delete env.BRAMBLE_DOCKER_SOCKET;
  return env;
}

export const serverFiles = (p: NodePaths) => ({
  kubeconfig: join(p.brambleData, "server", "admin.kubeconfig"),
  ca: join(p.brambleData, "server", "tls", "server-ca.crt"),
});

export function startServerProcess(node: LabNodeSpec, p: NodePaths, root: string, extraArgs: string[] = []): number {
  mkdirSync(p.brambleData, { recursive: true });
  const argv = inNetns(node.ns, [
    process.execPath, MAIN, "server",
    "--data-dir", p.brambleData,
    "--node-name", node.name,
    "--node-ip", node.ip,
    "--advertise-address", node.ip,
    "--bind-address", "0.0.0.0",
    ...extraArgs,
  ]);
  return spawnDetached(argv, { logFile: p.brambleLog, pidFile: p.bramblePid, env: brambleEnv(root, p.dockerSocket), cwd: BRAMBLE_SOURCE });
}

export async function waitForServer(node: LabNodeSpec, p: NodePaths, timeoutMs = 60_000): Promise<void> {
  const { kubeconfig, ca } = serverFiles(p);
  await waitFor(`the API server of ${node.name} (https://${node.ip}:${API_PORT}/readyz)`, async () => {
    exitedCheck(node, p);
    if (!existsSync(ca) || !existsSync(kubeconfig)) return false;
    const res = await fetch(`https://${node.ip}:${API_PORT}/readyz`, { tls: { ca: readFileSync(ca, "utf8") }, signal: AbortSignal.timeout(5_000) });
    await res.text();
    return res.status === 200;
  }, timeoutMs, () => tail(p.brambleLog));
}

/** The printed join command, split into argv (its first word is `bramble`). */
export async function createJoinCommand(root: string, kubeconfig: string): Promise<string[]> {
  const r = await run([process.execPath, MAIN, "token", "create", "--print-join-command", "--description", "bramble lab", "--kubeconfig", kubeconfig], { env: brambleEnv(root), cwd: BRAMBLE_SOURCE });
  if (r.code !== 0 || !r.stdout.startsWith("bramble agent ")) throw new Error(`lab: bramble token create --print-join-command failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout.trim().split(/\s+/);
}

/**
 * An agent in its node's namespace. With a join command it joins (the first start); without
 * one it restarts from the credential kept in its data dir, as a rebooted node would.
 */
export function startAgentProcess(node: LabNodeSpec, p: NodePaths, root: string, joinCommand?: string[]): number {
  mkdirSync(p.brambleData, { recursive: true });
  const join = joinCommand ? joinCommand.slice(1) : ["agent"];
  const argv = inNetns(node.ns, [
    process.execPath, MAIN, ...join,
    "--node-name", node.name,
    "--node-ip", node.ip,
    "--data-dir", p.brambleData,
    "--docker-socket", p.dockerSocket,
  ]);
  return spawnDetached(argv, { logFile: p.brambleLog, pidFile: p.bramblePid, env: brambleEnv(root), cwd: BRAMBLE_SOURCE });
}

function exitedCheck(node: LabNodeSpec, p: NodePaths) {
  const pid = readPid(p.bramblePid);
  if (pid !== undefined && !alive(pid)) throw new Error(`bramble on ${node.name} exited:\n${tail(p.brambleLog)}`);
}

/** SIGTERM (the agent stops its kubelet and leaves pods running), SIGKILL after graceMs. */
export async function stopBramble(p: NodePaths, marker: string, graceMs = 10_000): Promise<void> {
  await endProcesses(labProcessesOf(p.bramblePid, marker), graceMs);
}

export type Kubectl = (...args: string[]) => Promise<RunResult>;

interface NodeList {
  items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
}

export async function waitForNodesReady(nodes: LabNodeSpec[], paths: NodePaths[], kubectl: Kubectl, timeoutMs = 90_000): Promise<void> {
  let last = "";
  await waitFor(`nodes ${nodes.map((n) => n.name).join(", ")} Ready`, async () => {
    nodes.forEach((n, i) => exitedCheck(n, paths[i]!));
    const r = await kubectl("get", "nodes", "-o", "json");
    if (r.code !== 0) return false;
    const list = JSON.parse(r.stdout) as NodeList;
    const ready = (name: string) => list.items.find((n) => n.metadata.name === name)?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    last = list.items.map((n) => `${n.metadata.name}: ${ready(n.metadata.name) ? "Ready" : "not Ready"}`).join(", ");
    return nodes.every((n) => ready(n.name));
  }, timeoutMs, () => `nodes seen: ${last || "none"}`);
}
