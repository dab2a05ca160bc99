// Pod network route programming: how long the host-gw backend takes to route
// N other nodes' podCIDRs (one `ip route replace` exec per changed route), a resync with no
// change, and one node moving, against a same-run baseline of one `ip -batch` of the same N
// routes. Runs in its own network namespace (bpn-bench), removed afterwards. Root only.
//   bun scripts/bench/podnet-routes.ts [--nodes 250] [--runs 5]
import { parseArgs } from "node:util";
import { inNetns, mustRun, runCommand } from "../../src/agent/host/run.ts";
import { syncPeerRoutes, type PeerRoute } from "../../src/agent/network/routes.ts";
import { printTable } from "./lib/table.ts";

const { values: args } = parseArgs({ options: { nodes: { type: "string", default: "250" }, runs: { type: "string", default: "5" } } });
const N = Number(args.nodes);
const RUNS = Number(args.runs);
const NS = "bpn-bench";
const run = inNetns(NS);

const peers: PeerRoute[] = Array.from({ length: N }, (_, i) => ({ dst: `10.42.${i + 1}.0/24`, via: `172.31.252.${10 + (i % 200)}` }));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const time = async (f: () => Promise<unknown>) => {
  const t = performance.now();
  await f();
  return performance.now() - t;
};
const flush = () => mustRun(run, ["ip", "-4", "route", "flush", "proto", "98"]);

await runCommand(["ip", "netns", "del", NS]);
await mustRun(runCommand, ["ip", "netns", "add", NS]);
try {
  await mustRun(run, ["sh", "-c", "ip link set lo up; ip link add bpn-b0 type veth peer name bpn-b1; ip addr add 172.31.252.1/24 dev bpn-b0; ip link set bpn-b0 up; ip link set bpn-b1 up"]);
  const full: number[] = [];
  const noop: number[] = [];
  const one: number[] = [];
  const batch: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    await flush();
    batch.push(await time(() => mustRun(run, ["ip", "-batch", "-"], peers.map((p) => `route replace ${p.dst} via ${p.via} proto 98`).join("\n") + "\n")));
    await flush();
    full.push(await time(() => syncPeerRoutes(run, peers)));
    noop.push(await time(() => syncPeerRoutes(run, peers)));
    const moved = peers.map((p, i) => (i === 0 ? { ...p, via: `172.31.252.${r % 2 ? 250 : 251}` } : p));
    one.push(await time(() => syncPeerRoutes(run, moved)));
    const count = (await mustRun(run, ["ip", "-4", "route", "show", "proto", "98"])).trim().split("\n").length;
    if (count !== N) throw new Error(`expected ${N} routes, found ${count}`);
  }
  const base = median(batch);
  console.log(`pod network routes: ${N} peer nodes, median of ${RUNS} runs, namespace ${NS}`);
  printTable(
    ["case", "ms", "× baseline"],
    [
      [`baseline: one ip -batch of ${N} routes`, base.toFixed(1), "1.0"],
      [`bramble: full sync of ${N} routes`, median(full).toFixed(1), (median(full) / base).toFixed(1)],
      ["bramble: resync, nothing changed", median(noop).toFixed(1), (median(noop) / base).toFixed(1)],
      ["bramble: one node's address changed", median(one).toFixed(1), (median(one) / base).toFixed(1)],
    ],
  );
} finally {
  await runCommand(["ip", "netns", "del", NS]);
}
