// A `bramble server` with its embedded agent on a Docker engine of its own, in a network
// namespace of its own, with the product's networking defaults: pod network, iptables Service
// proxy, cluster DNS. Pods on it reach Services — the `kubernetes` Service at 10.43.0.1:443
// among them — through the agent's real iptables rules, which stay inside the namespace, so
// they never meet other tests' servers or a server installed on this machine.
//
//   const node = await startNetnsServer("satoken");
//   await node.kubectl("get", "pods");
//   await node.destroy();    // in afterAll: server, engine, mounts, namespace, folder
//
// The test process reaches the API server over a veth pair (a /30 of 100.64.0.0/10, the shared
// address space no host here routes). Built from the multi-node lab's parts (scripts/lab), one
// node and no lab bridge, so it runs beside a lab. Needs what the lab needs: see labSkipReason.
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { API_PORT, nodePaths, type LabNodeSpec, type NodePaths } from "../../scripts/lab/config";
import { serverFiles, startServerProcess, stopBramble, waitForServer } from "../../scripts/lab/cluster";
import { removeTree, startEngine, stopEngine, waitForEngine } from "../../scripts/lab/engines";
import { tail } from "../../scripts/lab/processes";
import { inNetns, mustRun, run, type RunResult } from "../../scripts/lab/sh";
import { TEST_IMAGE } from "../../src/agent/images/testimage";
import type { DockerRuntime } from "../../src/agent/runtime/docker/docker";
import { labSkipReason } from "./lab";

export { labSkipReason as netnsServerSkipReason };

export interface NetnsServer {
  nodeName: string;
  /** The server's --data-dir and its engine's socket (for `bramble reset`, `bramble images`). */
  dataDir: string;
  dockerSocket: string;
  /** The network namespace (/var/run/netns/<nsName>) and a command run in it. */
  nsName: string;
  inNs(...argv: string[]): Promise<RunResult>;
  /** Stops the server (SIGTERM); the engine, its containers and the namespace stay, as after a shutdown. */
  stopServer(): Promise<void>;
  /** kill -9 of the server (and its embedded agent): the engine and its containers stay, as after a crash. */
  killServer(): Promise<void>;
  /** Starts the server again on its data dir (after stopServer or killServer); resolves once it is ready. */
  startServer(): Promise<void>;
  /** The server's address: advertised, and the `kubernetes` Endpoints' address. */
  ip: string;
  port: number;
  url: string;
  kubeconfig: string;
  ca(): string;
  docker: DockerRuntime;
  kubectl(...args: string[]): Promise<RunResult>;
  /**
   * Runs `script` (sh -c) in a pod of the busybox test image to its end; resolves to the pod as
   * the API server holds it then and its log, with `line(key)` for `key=value` lines.
   */
  runScriptPod(name: string, script: string): Promise<{ pod: any; log: string; line(key: string): string | undefined }>;
  kubectlWith(stdin: string, ...args: string[]): Promise<RunResult>;
  log(): string;
  destroy(): Promise<void>;
}

const live = new Set<() => void>();
process.on("exit", () => {
  for (const cleanup of live) cleanup();
});

/** A /30 no interface here has yet: .1 on the host's veth end, .2 in the namespace. */
async function freeSlash30(): Promise<[string, string]> {
  const taken = await mustRun(["ip", "-4", "-o", "addr"]);
  for (;;) {
    const third = 64 + Math.floor(Math.random() * 64);
    const fourth = Math.floor(Math.random() * 64) * 4;
    const net = `100.${third}.${Math.floor(Math.random() * 256)}`;
    const host = `${net}.${fourth + 1}`;
    const inside = `${net}.${fourth + 2}`;
    if (!taken.includes(` ${net}.`)) return [host, inside];
  }
}

export interface NetnsServerOptions {
  /** Runs once the namespace and its engine are up, before bramble starts (e.g. to record what was there). */
  beforeServer?(ns: { inNs(...argv: string[]): Promise<RunResult>; docker: DockerRuntime; dockerSocket: string }): Promise<void>;
  /** false: only the namespace and its engine; the test starts bramble its own way (e.g. scripts/install.sh). */
  server?: boolean;
  /** Runs on the node's folder (engine data root and server data dir inside) before anything is put there, e.g. to mount a small filesystem on it. */
  prepareNodeDir?(dir: string): Promise<void>;
  /** More `bramble server` flags (e.g. kubelet's eviction flags for the embedded agent). */
  serverArgs?: string[];
}

export async function startNetnsServer(label: string, opts: NetnsServerOptions = {}): Promise<NetnsServer> {
  if (labSkipReason) throw new Error(`cannot start a server in a namespace: ${labSkipReason}`);
  const id = `${label.replace(/[^a-z0-9]/g, "").slice(0, 6)}${Math.random().toString(36).slice(2, 6)}`;
  const root = mkdtempSync(join(tmpdir(), `bramble-ns-${id}-`));
  const [hostIp, ip] = await freeSlash30();
  const node: LabNodeSpec = { name: `ns-${id}`, ns: `bn-${id}`, ip, hostVeth: `vn-${id}`, bip: "10.97.0.1/24", role: "server" };
  const paths: NodePaths = nodePaths(node, root);
  const peer = `${node.hostVeth}p`;

  const teardown = async () => {
    await stopBramble(paths, root, 10_000).catch(() => {});
    await stopEngine(paths, root).catch(() => {});
    await run(["ip", "netns", "delete", node.ns]);
    await run(["ip", "link", "delete", node.hostVeth]);
    removeTree(root);
  };
  const emergency = () => {
    // The test process is ending without afterAll: at least leave no namespace or veth behind.
    Bun.spawnSync(["ip", "netns", "delete", node.ns]);
    Bun.spawnSync(["ip", "link", "delete", node.hostVeth]);
  };
  live.add(emergency);

  try {
    await mustRun(["ip", "netns", "add", node.ns]);
    await mustRun(["ip", "link", "add", node.hostVeth, "type", "veth", "peer", "name", peer]);
    await mustRun(["ip", "addr", "add", `${hostIp}/30`, "dev", node.hostVeth]);
    await mustRun(["ip", "link", "set", node.hostVeth, "up"]);
    await mustRun(["ip", "link", "set", peer, "netns", node.ns]);
    const inNs = (...argv: string[]) => mustRun(inNetns(node.ns, argv));
    await inNs("ip", "link", "set", peer, "name", "eth0");
    await inNs("ip", "addr", "add", `${ip}/30`, "dev", "eth0");
    await inNs("ip", "link", "set", "eth0", "up");
    await inNs("ip", "link", "set", "lo", "up");
    await inNs("sysctl", "-qw", "net.ipv4.ip_forward=1");

    if (opts.prepareNodeDir) {
      mkdirSync(paths.dir, { recursive: true });
      await opts.prepareNodeDir(paths.dir);
    }
    startEngine(node, paths);
    const docker = await waitForEngine(node, paths);
    const runInNs = (...argv: string[]) => run(inNetns(node.ns, argv));
    await opts.beforeServer?.({ inNs: runInNs, docker, dockerSocket: paths.dockerSocket });
    if (opts.server !== false) {
      startServerProcess(node, paths, root, opts.serverArgs);
      await waitForServer(node, paths);
    }
    const { kubeconfig, ca } = serverFiles(paths);
    const kubectlWith = async (stdin: string | undefined, ...args: string[]) =>
      run(["kubectl", "--kubeconfig", kubeconfig, "--request-timeout=20s", ...args], { stdin, timeoutMs: 30_000 });
    const kubectl = (...args: string[]) => kubectlWith(undefined, ...args);
    const ready = async () => {
      const r = await kubectl("get", "node", node.name, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}");
      return r.code === 0 && r.stdout.trim() === "True";
    };
    const deadline = Date.now() + 90_000;
    while (opts.server !== false && !(await ready())) {
      if (Date.now() > deadline) throw new Error(`node ${node.name} did not become Ready:\n${tail(paths.brambleLog, 60)}`);
      await Bun.sleep(250);
    }
    const runScriptPod = async (name: string, script: string) => {
      const manifest = { apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { restartPolicy: "Never", terminationGracePeriodSeconds: 1, containers: [{ name: "main", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sh", "-c", script] }] } };
      const applied = await kubectlWith(JSON.stringify(manifest), "apply", "-f", "-");
      if (applied.code !== 0) throw new Error(`kubectl apply of pod ${name} failed: ${applied.stderr}`);
      const end = Date.now() + 60_000;
      let pod: any;
      for (;;) {
        const r = await kubectl("get", "pod", name, "-o", "json");
        pod = r.code === 0 ? JSON.parse(r.stdout) : undefined;
        if (["Succeeded", "Failed"].includes(pod?.status?.phase)) break;
        if (Date.now() > end) throw new Error(`pod ${name} did not finish: ${JSON.stringify(pod?.status)}\n${tail(paths.brambleLog, 60)}`);
        await Bun.sleep(250);
      }
      const log = (await kubectl("logs", name)).stdout;
      return { pod, log, line: (key: string) => log.split("\n").find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1) };
    };
    return {
      nodeName: node.name,
      dataDir: paths.brambleData,
      dockerSocket: paths.dockerSocket,
      nsName: node.ns,
      inNs: runInNs,
      stopServer: () => stopBramble(paths, root, 10_000),
      killServer: () => stopBramble(paths, root, 0),
      async startServer() {
        startServerProcess(node, paths, root, opts.serverArgs);
        await waitForServer(node, paths);
      },
      runScriptPod,
      ip,
      port: API_PORT,
      url: `https://${ip}:${API_PORT}`,
      kubeconfig,
      ca: () => readFileSync(ca, "utf8"),
      docker,
      kubectl,
      kubectlWith: (stdin, ...args) => kubectlWith(stdin, ...args),
      log: () => tail(paths.brambleLog, 200),
      async destroy() {
        live.delete(emergency);
        await teardown();
      },
    };
  } catch (e) {
    live.delete(emergency);
    await teardown();
    throw e;
  }
}
