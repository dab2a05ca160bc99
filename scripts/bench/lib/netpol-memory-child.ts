// Child of scripts/bench/netpol-memory.ts: against the API at argv[2], either starts network
// policy enforcement for node-0 with a recording command runner (mode "netpol") or only makes a
// client with one watch (mode "bare"), waits, collects garbage and prints its RSS as JSON.
import { heapStats } from "bun:jsc";
import { KINDS } from "../../../src/api/kinds.ts";
import { KubeClient } from "../../../src/client/client.ts";
import { Informer } from "../../../src/client/informer.ts";
import { createLogger } from "../../../src/machinery/log.ts";
import type { CommandRunner } from "../../../src/agent/host/run.ts";

const [server, token, mode] = process.argv.slice(2) as [string, string, "netpol" | "bare"];
const client = new KubeClient({ server, token, namespace: "default" });
// An agent always runs watches of its own (its Node, its pods, EndpointSlices): one here in both
// modes, so the difference is what the policy watches and rules add, not the first watch's cost.
const base = new Informer(client.resource(KINDS.services));
await base.start();
let rules = 0;
if (mode === "netpol") {
  const { startNetworkPolicy } = await import("../../../src/agent/netpol/index.ts");
  const run: CommandRunner = async (argv, stdin) => {
    if (argv[0] === "iptables-restore") rules = (stdin ?? "").split("\n").filter((l) => l.startsWith("-A ")).length;
    return { code: 0, stdout: "", stderr: "" };
  };
  const np = await startNetworkPolicy({ client, nodeName: "node-0", run, log: createLogger("netpol", { level: "error" }) });
  await np.idle();
}
await Bun.sleep(1000);
Bun.gc(true);
await Bun.sleep(200);
Bun.gc(true);
const rss = Number(/VmRSS:\s+(\d+)/.exec(await Bun.file("/proc/self/status").text())![1]) * 1024;
const heap = heapStats().heapSize;
console.log(JSON.stringify({ mode, rss, heap, rules }));
process.exit(0);
