// `bramble reset`: undo what bramble did to this machine — its containers and Docker networks
// (found by the io.bramble.managed label, so nothing else on the engine is touched), its
// pod network (routes, rules, iptables chains), the Service proxy's chains, the cluster DNS
// address, and its state under the data dir. Each step reports one line and a failed
// step does not stop the others: a half-broken node is exactly when people reset.
import { existsSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { removeDnsAddress } from "./dns/index";
import type { CommandRunner } from "./host/run";
import { resetPodNetwork } from "./network/index";
import { resetServiceProxy } from "./proxy/index";
import { LABELS } from "./runtime/runtime";

export interface ResetOptions {
  dataDir: string;
  dockerSocket: string;
  say: (line: string) => void;
  /** Runs ip/iptables; tests pass a recorder so the shared host's network is left alone. */
  run?: CommandRunner;
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

async function removeContainers(socket: string): Promise<number> {
  const list = (await (await docker(socket, "GET", `/containers/json?all=1&filters=${managedFilter}`)).json()) as { Id: string }[];
  // Stopped first, with a short grace, so apps get their SIGTERM; then removed with volumes.
  await Promise.all(list.map((c) => docker(socket, "POST", `/containers/${c.Id}/stop?t=${STOP_TIMEOUT_S}`)));
  await Promise.all(list.map((c) => docker(socket, "DELETE", `/containers/${c.Id}?force=1&v=1`)));
  return list.length;
}

async function removeNetworks(socket: string): Promise<number> {
  const list = (await (await docker(socket, "GET", `/networks?filters=${managedFilter}`)).json()) as { Id: string }[];
  for (const n of list) await docker(socket, "DELETE", `/networks/${n.Id}`);
  return list.length;
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
  let dockerUp = true;
  try {
    await docker(o.dockerSocket, "GET", "/_ping");
  } catch (e) {
    dockerUp = false;
    o.say(`docker: not reachable at unix://${o.dockerSocket} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); skipped containers and networks`);
  }
  if (dockerUp) {
    await step("containers", async () => `containers: removed ${await removeContainers(o.dockerSocket)}`);
    await step("networks", async () => `networks: removed ${await removeNetworks(o.dockerSocket)}`);
  }
  // The pod network's routes and chains first; the proxy's step then removes any BRAMBLE- chain left.
  await step("pod network", () => resetPodNetwork({ run: o.run }));
  await step("service proxy", () => resetServiceProxy(o.run));
  await step("cluster dns", async () => {
    await removeDnsAddress(o.run);
    return "cluster dns: removed its address";
  });
  await step("data dir", async () => {
    const removed = STATE_DIRS.map((d) => join(o.dataDir, d)).filter((p) => existsSync(p));
    for (const p of removed) rmSync(p, { recursive: true, force: true });
    if (existsSync(o.dataDir) && readdirSync(o.dataDir).length === 0) rmdirSync(o.dataDir);
    return removed.length ? `data: removed ${removed.join(", ")}` : `data: nothing to remove in ${o.dataDir}`;
  });
  return { failures };
}
