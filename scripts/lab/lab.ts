// The multi-node lab: a bramble server and two agents on one machine, each in a network
// namespace of its own with a Docker engine of its own, joined over a host bridge
// (see config.ts for names and addresses, TESTBED.md for why it is built this way).
//
//   bun scripts/lab/lab.ts up       # tear down leftovers, bring everything up, wait for 3 Ready nodes
//   bun scripts/lab/lab.ts status
//   bun scripts/lab/lab.ts down     # remove everything; works after a failed or partial up
//
// From code (tests/helpers/lab.ts): `const lab = await upLab(); ...; await lab.down();`.
// kubectl runs on the host against https://172.31.250.10:6443 with the server's admin kubeconfig.
// Root only (namespaces, iptables). One lab per machine at a time: a lock file makes a second
// `upLab` wait for the first lab's owner to finish.
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { API_PORT, BRAMBLE_SOURCE, labRoot, lockPath, MAIN, NODE_SPECS, nodePaths, type LabNodeSpec, type NodePaths } from "./config";
import { brambleEnv, createJoinCommand, serverFiles, startAgentProcess, startServerProcess, stopBramble, waitForNodesReady, waitForServer } from "./cluster";
import { removeTree, startEngine, stopEngine, waitForEngine } from "./engines";
import { createNetwork, networkStatus, removeNetwork } from "./network";
import { alive, endProcesses, labProcessesOf, readPid, tail } from "./processes";
import { inNetns, run, waitFor, type RunOptions, type RunResult } from "./sh";

export interface LabNode extends LabNodeSpec {
  paths: NodePaths;
  dockerSocket: string;
}

export class Lab {
  readonly nodes: LabNode[];
  readonly kubeconfig: string;
  readonly serverUrl: string;
  /** `bramble token create --print-join-command`, split into words. */
  joinCommand: string[] = [];

  constructor(readonly root: string = labRoot()) {
    this.nodes = NODE_SPECS.map((spec) => {
      const paths = nodePaths(spec, root);
      return { ...spec, paths, dockerSocket: paths.dockerSocket };
    });
    this.kubeconfig = serverFiles(this.nodes[0]!.paths).kubeconfig;
    this.serverUrl = `https://${this.nodes[0]!.ip}:${API_PORT}`;
  }

  node(name: string): LabNode {
    const n = this.nodes.find((x) => x.name === name || x.ns === name);
    if (!n) throw new Error(`lab: no node ${name} (${this.nodes.map((x) => x.name).join(", ")})`);
    return n;
  }

  get server(): LabNode {
    return this.nodes[0]!;
  }

  get agents(): LabNode[] {
    return this.nodes.filter((n) => n.role === "agent");
  }

  kubectl(...args: string[]): Promise<RunResult> {
    return this.kubectlWith({}, ...args);
  }

  kubectlWith(opts: RunOptions, ...args: string[]): Promise<RunResult> {
    return run(["kubectl", "--kubeconfig", this.kubeconfig, "--cache-dir", join(this.root, "kube-cache"), "--request-timeout=20s", ...args], { timeoutMs: 60_000, ...opts });
  }

  /** The docker CLI against one node's engine. */
  docker(node: string, ...args: string[]): Promise<RunResult> {
    return run(["docker", "-H", `unix://${this.node(node).dockerSocket}`, ...args]);
  }

  /** A command in one node's network namespace (iptables-save, ip route, wget...). */
  inNode(node: string, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    return run(inNetns(this.node(node).ns, argv), opts);
  }

  /** The bramble CLI on the host (token create, ...), with the admin kubeconfig where it takes one. */
  bramble(...args: string[]): Promise<RunResult> {
    return run([process.execPath, MAIN, ...args], { env: brambleEnv(this.root), cwd: BRAMBLE_SOURCE });
  }

  /** The bramble CLI inside one node's network namespace (e.g. a join attempt from that node). */
  brambleIn(node: string, ...args: string[]): Promise<RunResult> {
    return run(inNetns(this.node(node).ns, [process.execPath, MAIN, ...args]), { env: brambleEnv(this.root), cwd: BRAMBLE_SOURCE });
  }

  /** Stops an agent node's bramble process (SIGTERM); its pods keep running in its engine. */
  async stopAgent(node: string): Promise<void> {
    const n = this.node(node);
    if (n.role !== "agent") throw new Error(`lab: ${node} is the server`);
    await stopBramble(n.paths, this.root);
  }

  /** Starts an agent again from its stored credential (no token), as after a reboot. */
  startAgent(node: string, joinCommand?: string[]): void {
    const n = this.node(node);
    startAgentProcess(n, n.paths, this.root, joinCommand);
  }

  /** Stops the server (SIGTERM): the control plane and lab-n0's embedded agent go away. */
  async stopServer(): Promise<void> {
    await stopBramble(this.server.paths, this.root);
  }

  /** Starts the server again on its data dir and waits for /readyz. */
  async startServer(): Promise<void> {
    startServerProcess(this.server, this.server.paths, this.root);
    await waitForServer(this.server, this.server.paths);
  }

  /** Stops a node's Docker engine as a crash or upgrade would (SIGTERM: dockerd stops its containers). */
  async stopEngine(node: string): Promise<void> {
    const n = this.node(node);
    await endProcesses(labProcessesOf(n.paths.enginePid, this.root), 30_000);
  }

  /** Starts a node's Docker engine again on the same data root and socket. */
  async startEngine(node: string): Promise<void> {
    const n = this.node(node);
    startEngine(n, n.paths);
    await waitForEngine(n, n.paths);
  }

  /** Whether a node's bramble process runs. */
  running(node: string): boolean {
    const pid = readPid(this.node(node).paths.bramblePid);
    return pid !== undefined && alive(pid);
  }

  async waitReady(timeoutMs = 90_000): Promise<void> {
    await waitForNodesReady(this.nodes, this.nodes.map((n) => n.paths), (...a) => this.kubectl(...a), timeoutMs);
  }

  /** The last lines of every log the lab keeps, for a failure's message. */
  logTails(lines = 40): string {
    return this.nodes
      .flatMap((n) => [`==> ${n.paths.brambleLog} <==\n${tail(n.paths.brambleLog, lines)}`, `==> ${n.paths.dockerLog} <==\n${tail(n.paths.dockerLog, Math.min(lines, 15))}`])
      .join("\n");
  }

  down(): Promise<void> {
    return downLab(this.root);
  }
}

export interface UpOptions {
  /** Printed as each step completes (the CLI passes console.log). */
  progress?: (line: string) => void;
  /** How long to wait for another lab's owner to let go (default 15 min). */
  lockTimeoutMs?: number;
  /** Leave a failed lab in place for a post-mortem (BRAMBLE_LAB_KEEP=1 does the same). */
  keepOnFailure?: boolean;
}

export async function upLab(opts: UpOptions = {}): Promise<Lab> {
  const say = opts.progress ?? (() => {});
  const started = performance.now();
  const step = (what: string) => say(`lab: ${what} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  await acquireLabLock(opts.lockTimeoutMs ?? 15 * 60_000, say);
  const lab = new Lab();
  try {
    await downLab(lab.root, { keepLock: true });
    step("leftovers removed");
    mkdirSync(lab.root, { recursive: true });
    for (const n of lab.nodes) mkdirSync(n.paths.dir, { recursive: true });
    await createNetwork(lab.nodes);
    step(`bridge, namespaces ${lab.nodes.map((n) => n.ns).join(", ")} up`);
    for (const n of lab.nodes) startEngine(n, n.paths);
    await Promise.all(lab.nodes.map((n) => waitForEngine(n, n.paths)));
    step("Docker engines answering, test image imported");
    startServerProcess(lab.server, lab.server.paths, lab.root);
    await waitForServer(lab.server, lab.server.paths);
    step(`server ready at ${lab.serverUrl}`);
    lab.joinCommand = await createJoinCommand(lab.root, lab.kubeconfig);
    writeFileSync(join(lab.root, "join-command"), `${lab.joinCommand.join(" ")}\n`);
    for (const n of lab.agents) startAgentProcess(n, n.paths, lab.root, lab.joinCommand);
    await lab.waitReady();
    step("3 nodes Ready");
    return lab;
  } catch (e) {
    const message = `${(e as Error).message}\n--- lab logs ---\n${lab.logTails()}`;
    if (opts.keepOnFailure || process.env.BRAMBLE_LAB_KEEP) {
      say(`lab: left in place after the failure (bun scripts/lab/lab.ts down removes it)`);
    } else {
      await downLab(lab.root).catch((d) => say(`lab: teardown after the failure failed too: ${(d as Error).message}`));
    }
    throw new Error(message);
  }
}

/**
 * Removes everything a lab (whole, partial or crashed) left: bramble processes, engines with
 * their containers and mounts, namespaces, veths, the bridge and its FORWARD rule, the lab
 * folder. Idempotent; throws at the end, listing what could not be removed.
 */
export async function downLab(root = labRoot(), opts: { keepLock?: boolean } = {}): Promise<void> {
  const problems: string[] = [];
  const nodes = NODE_SPECS.map((spec) => ({ spec, paths: nodePaths(spec, root) }));
  // Agents first, then the server: nothing recreates a container while the engines are emptied.
  for (const { paths } of [...nodes].reverse()) await stopBramble(paths, root, 5_000);
  const engines = await Promise.all(nodes.map(({ paths }) => stopEngine(paths, root).catch((e) => [(e as Error).message])));
  problems.push(...engines.flat());
  problems.push(...(await removeNetwork(nodes.map((n) => n.spec))));
  for (const { paths } of nodes) {
    const left = [...labProcessesOf(paths.bramblePid, root), ...labProcessesOf(paths.enginePid, root)];
    if (left.length) problems.push(`processes of ${paths.dir} still running: ${left.join(", ")}`);
  }
  problems.push(...removeTree(root));
  if (!opts.keepLock) releaseLabLock();
  if (problems.length) throw new Error(`lab: teardown incomplete:\n  ${problems.join("\n  ")}`);
}

export async function labStatus(root = labRoot()): Promise<string> {
  const lines = await networkStatus(NODE_SPECS);
  for (const spec of NODE_SPECS) {
    const p = nodePaths(spec, root);
    const state = (pidFile: string) => {
      const pid = readPid(pidFile);
      return pid === undefined ? "not started" : alive(pid) ? `running (pid ${pid})` : `exited (pid ${pid})`;
    };
    lines.push(`${spec.name} ${spec.ip}: dockerd ${state(p.enginePid)}, bramble ${state(p.bramblePid)}`);
  }
  const lab = new Lab(root);
  if (existsSync(lab.kubeconfig)) {
    const r = await lab.kubectl("get", "nodes", "-o", "wide");
    lines.push(r.code === 0 ? r.stdout.trimEnd() : `kubectl get nodes: ${r.stderr.trim()}`);
    lines.push(`kubectl --kubeconfig ${lab.kubeconfig} ...`);
  }
  return lines.join("\n");
}

// One lab per machine: the lock names the pid of the process that owns the lab.
export async function acquireLabLock(timeoutMs: number, say: (s: string) => void): Promise<void> {
  const path = lockPath();
  let told = false;
  await waitFor(`the lab lock ${path}`, async () => {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: "wx" });
      return true;
    } catch {
      const owner = Number(readFileSync(path, "utf8").trim());
      if (owner === process.pid) return true;
      if (!Number.isInteger(owner) || !alive(owner)) {
        unlinkSync(path);
        return false;
      }
      if (!told) say(`lab: waiting for the lab of pid ${owner} to be torn down (${path})`);
      told = true;
      return false;
    }
  }, timeoutMs);
}

export function releaseLabLock() {
  const path = lockPath();
  try {
    if (Number(readFileSync(path, "utf8").trim()) === process.pid || !alive(Number(readFileSync(path, "utf8").trim()))) unlinkSync(path);
  } catch {
    // none
  }
}

if (import.meta.main) {
  const cmd = process.argv[2];
  try {
    if (cmd === "up") {
      const lab = await upLab({ progress: console.log });
      console.log(await labStatus(lab.root));
      console.log(`join command: ${lab.joinCommand.join(" ")}`);
    } else if (cmd === "down") {
      await downLab();
      console.log("lab: removed");
    } else if (cmd === "status") {
      console.log(await labStatus());
    } else {
      console.error("usage: bun scripts/lab/lab.ts up|down|status");
      process.exit(2);
    }
    process.exit(0);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
