// The lab's fixed shape: one bridge on the host, three nodes (a server with its embedded agent
// and two agents), each in a network namespace of its own with a Docker engine of its own.
// Every name carries a lab prefix (brl-/bl-/vl-) so nothing collides with other tests' bridges,
// namespaces or veths, and so teardown can find leftovers of a crashed run by name alone.
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dir, "..", "..");
/**
 * The bramble the lab runs: this checkout's, or BRAMBLE_LAB_SOURCE's (another checkout, e.g. a
 * clean `git archive HEAD` while the working tree holds someone's unfinished change).
 */
export const BRAMBLE_SOURCE = resolve(process.env.BRAMBLE_LAB_SOURCE ?? REPO_ROOT);
export const MAIN = join(BRAMBLE_SOURCE, "src", "main.ts");

export const BRIDGE = "brl-lab";
export const SUBNET_PREFIX = "172.31.250";
export const BRIDGE_ADDRESS = `${SUBNET_PREFIX}.1`;
/** Marks the host FORWARD rule that lets frames cross the lab bridge (Docker sets FORWARD DROP). */
export const FORWARD_COMMENT = "bramble-lab";
export const API_PORT = 6443;

export interface LabNodeSpec {
  /** Kubernetes node name. */
  name: string;
  /** Network namespace (`/var/run/netns/<ns>`). */
  ns: string;
  ip: string;
  /** Host end of the veth pair; the namespace end is renamed eth0. */
  hostVeth: string;
  /** The engine's docker0 (`--bip`), distinct per node and outside the pod and service ranges. */
  bip: string;
  role: "server" | "agent";
}

export const NODE_SPECS: LabNodeSpec[] = [0, 1, 2].map((i) => ({
  name: `lab-n${i}`,
  ns: `bl-n${i}`,
  ip: `${SUBNET_PREFIX}.${10 + i}`,
  hostVeth: `vl-n${i}`,
  bip: `10.98.${i}.1/24`,
  role: i === 0 ? "server" : "agent",
}));

/** Everything the lab writes lives under here (engines' data, bramble data dirs, logs, pids). */
export function labRoot(): string {
  return resolve(process.env.BRAMBLE_LAB_DIR ?? "/tmp/bramble-lab");
}

/** Outside the root, which teardown removes: who holds the lab now. */
export const lockPath = () => `${labRoot()}.lock`;

export interface NodePaths {
  dir: string;
  dockerData: string;
  dockerExec: string;
  dockerSocket: string;
  /** dockerd's own --pidfile (written once it is up; it refuses to start over a live one). */
  dockerPid: string;
  /** The pid we started dockerd as, recorded at once. */
  enginePid: string;
  dockerLog: string;
  brambleData: string;
  brambleLog: string;
  bramblePid: string;
}

export function nodePaths(node: LabNodeSpec, root = labRoot()): NodePaths {
  const dir = join(root, node.name);
  return {
    dir,
    dockerData: join(dir, "docker"),
    dockerExec: join(dir, "exec"),
    dockerSocket: join(dir, "docker.sock"),
    dockerPid: join(dir, "docker.pid"),
    enginePid: join(dir, "engine.pid"),
    dockerLog: join(dir, "dockerd.log"),
    brambleData: join(dir, "bramble"),
    brambleLog: join(dir, "bramble.log"),
    bramblePid: join(dir, "bramble.pid"),
  };
}

export const netnsPath = (ns: string) => `/var/run/netns/${ns}`;
