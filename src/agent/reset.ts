// `bramble reset`: undo what bramble did to this machine for the cluster whose data dir it is
// given — its containers and Docker networks (found by the io.bramble.managed label and its
// io.bramble.cluster, the data dir's CA pin; containers from before cluster labels by this
// node's name, as the kubelet decides), so other clusters and nodes on the same engine keep
// running; its pod network (routes, rules, iptables chains), the Service proxy's chains and the
// cluster DNS address unless another cluster's pod network is on this machine; and its state
// under the data dir. Each step reports one line and a failed step does not stop the others: a
// half-broken node is exactly when people reset.
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { removeDnsAddress } from "./dns/index";
import type { CommandRunner } from "./host/run";
import { credentialPaths } from "./join/store";
import { clusterIdOf, NODE_LABEL } from "./kubelet/names";
import { resetPodNetwork } from "./network/index";
import { resetServiceProxy } from "./proxy/index";
import { LABELS } from "./runtime/runtime";

export interface ResetOptions {
  dataDir: string;
  dockerSocket: string;
  say: (line: string) => void;
  /** Runs ip/iptables; tests pass a recorder so the shared host's network is left alone. */
  run?: CommandRunner;
  /**
   * The node this data dir ran when a joined agent did not record one (a server's embedded
   * agent: the hostname, unless it was started with --node-name).
   */
  defaultNodeName: string;
}

/** What bramble keeps under the data dir; the dir itself goes only if nothing else is in it. */
const STATE_DIRS = ["server", "agent"];
const STOP_TIMEOUT_S = 5;

async function docker(socket: string, method: string, path: string): Promise<Response> {
  const res = await fetch(`http://docker${path}`, { method, unix: socket, signal: AbortSignal.timeout(30_000) });
  if (res.ok || res.status === 304 || res.status === 404) return res;
  const text = await res.text();
  // A container the kubelet (or Docker itself) is already removing is as good as gone.
  if (res.status === 409 && text.includes("already in progress")) return res;
  throw new Error(`${method} ${path}: ${res.status} ${text}`);
}

const managedFilter = encodeURIComponent(JSON.stringify({ label: [LABELS.managed] }));

/**
 * The data dir's cluster: the CA a joined agent pinned, or the one a server made (its embedded
 * agent labels containers with the same hash). Undefined when neither is there.
 */
export function dataDirClusterId(dataDir: string): string | undefined {
  for (const path of [credentialPaths(dataDir).ca, join(dataDir, "server", "tls", "server-ca.crt")]) {
    if (!existsSync(path)) continue;
    try {
      return clusterIdOf(readFileSync(path, "utf8"));
    } catch {
      // unreadable or not a certificate: try the other
    }
  }
  return undefined;
}

/** The node whose containers from before cluster labels are this data dir's (as its kubelet decides). */
export function dataDirNodeName(dataDir: string, fallback: string): string {
  const path = credentialPaths(dataDir).nodeName;
  return (existsSync(path) && readFileSync(path, "utf8").trim()) || fallback;
}

interface Labelled {
  Id: string;
  Labels?: Record<string, string> | null;
}

/**
 * bramble's containers or networks split by whose they are: this cluster's (its label, or no
 * cluster label and this node's name: the kubelet's own rule for containers from before cluster
 * labels), another cluster's, or unlabelled and not this node's (another node's on this engine).
 */
function split(items: Labelled[], clusterId: string | undefined, nodeName: string) {
  const mine: Labelled[] = [];
  const unlabelled: Labelled[] = [];
  const foreign: Labelled[] = [];
  for (const x of items) {
    const c = x.Labels?.[LABELS.cluster];
    if (c === undefined) (x.Labels?.[NODE_LABEL] === nodeName ? mine : unlabelled).push(x);
    else if (c === clusterId) mine.push(x);
    else foreign.push(x);
  }
  return { mine, unlabelled, foreign };
}

const clusters = (items: Labelled[]) => new Set(items.map((x) => x.Labels![LABELS.cluster]!));
const short = (ids: Set<string>) => [...ids].map((id) => id.slice(0, "sha256:".length + 12)).join(", ");

async function removeContainers(socket: string, list: Labelled[]): Promise<void> {
  // Stopped first, with a short grace, so apps get their SIGTERM; then removed with volumes.
  await Promise.all(list.map((c) => docker(socket, "POST", `/containers/${c.Id}/stop?t=${STOP_TIMEOUT_S}`)));
  await Promise.all(list.map((c) => docker(socket, "DELETE", `/containers/${c.Id}?force=1&v=1`)));
}

async function removeNetworks(socket: string, list: Labelled[]): Promise<void> {
  for (const n of list) await docker(socket, "DELETE", `/networks/${n.Id}`);
}

export async function resetNode(o: ResetOptions): Promise<{ failures: number }> {
  let failures = 0;
  const step = async (what: string, f: () => Promise<string>) => {
    try {
      o.say(await f());
    } catch (e) {
      failures++;
      o.say(`${what}: failed: ${(e as Error).message}`);
    }
  };
  const clusterId = dataDirClusterId(o.dataDir);
  const nodeName = dataDirNodeName(o.dataDir, o.defaultNodeName);
  let dockerUp = true;
  try {
    await docker(o.dockerSocket, "GET", "/_ping");
  } catch (e) {
    dockerUp = false;
    o.say(`docker: not reachable at unix://${o.dockerSocket} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); skipped containers and networks`);
  }
  // Containers: this data dir's cluster's (split). Networks: its own, and those from before
  // cluster labels when no other bramble node or cluster is left on the engine. Another
  // cluster's pod network on this machine means the host's routes, chains and DNS address
  // (fixed names) are that cluster's too: they stay.
  let hostNetworkOwner: string | undefined;
  if (dockerUp) {
    await step("containers and networks", async () => {
      const containers = split((await (await docker(o.dockerSocket, "GET", `/containers/json?all=1&filters=${managedFilter}`)).json()) as Labelled[], clusterId, nodeName);
      // Networks carry no node: an unlabelled one is this node's only when it is alone.
      const networks = split((await (await docker(o.dockerSocket, "GET", `/networks?filters=${managedFilter}`)).json()) as Labelled[], clusterId, "");
      const others = clusters([...containers.foreign, ...networks.foreign]);
      const alone = others.size === 0 && containers.unlabelled.length === 0;
      // A pod network from before cluster labels beside another node may be that node's.
      hostNetworkOwner = [...clusters(networks.foreign)][0] ?? (!alone && networks.unlabelled.length ? "another node from before cluster labels" : undefined);
      const goneNetworks = [...networks.mine, ...(alone ? networks.unlabelled : [])];
      await removeContainers(o.dockerSocket, containers.mine);
      await removeNetworks(o.dockerSocket, goneNetworks);
      const left = containers.foreign.length + containers.unlabelled.length;
      const whose = [...(others.size ? [`clusters ${short(others)}`] : []), ...(containers.unlabelled.length ? ["nodes from before cluster labels"] : [])].join(" and ");
      return [
        `containers: removed ${containers.mine.length}, networks: removed ${goneNetworks.length}`,
        ...(clusterId ? [] : [`${o.dataDir} holds no cluster CA, so only containers of node ${nodeName} from before cluster labels could be its own`]),
        ...(alone ? [] : [`left ${left} containers and ${networks.foreign.length + networks.unlabelled.length} networks of other ${whose} on this engine (reset each with its own --data-dir)`]),
      ].join("; ");
    });
  }
  if (hostNetworkOwner) {
    const owner = hostNetworkOwner.startsWith("sha256:") ? `cluster ${hostNetworkOwner.slice(0, "sha256:".length + 12)}…` : hostNetworkOwner;
    o.say(`pod network, service proxy, cluster dns: left in place: they belong to ${owner}, whose pod network runs on this machine`);
  } else {
    // The pod network's routes and chains first; the proxy's step then removes any BRAMBLE- chain left.
    await step("pod network", () => resetPodNetwork({ run: o.run }));
    await step("service proxy", () => resetServiceProxy(o.run));
    await step("cluster dns", async () => {
      await removeDnsAddress(o.run);
      return "cluster dns: removed its address";
    });
  }
  await step("data dir", async () => {
    const removed = STATE_DIRS.map((d) => join(o.dataDir, d)).filter((p) => existsSync(p));
    for (const p of removed) rmSync(p, { recursive: true, force: true });
    if (existsSync(o.dataDir) && readdirSync(o.dataDir).length === 0) rmdirSync(o.dataDir);
    return removed.length ? `data: removed ${removed.join(", ")}` : `data: nothing to remove in ${o.dataDir}`;
  });
  return { failures };
}
