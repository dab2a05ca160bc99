// Child of scripts/bench/dns-memory.ts: against the API at argv[2], either starts the agent's
// cluster DNS (mode "dns") or only makes a client (mode "bare"), waits, collects garbage and
// prints its RSS as JSON. Always on 127.0.0.1 with a picked port and no upstream.
import { KubeClient } from "../../../src/client/client.ts";
import { DEFAULT_CLUSTER_NETWORK } from "../../../src/agent/cluster-network.ts";
import { startClusterDns } from "../../../src/agent/dns/index.ts";
import { createLogger } from "../../../src/machinery/log.ts";
import { askUdp } from "../../../src/agent/dns/testing.ts";
import { heapStats } from "bun:jsc";

const [server, token, mode, probe] = process.argv.slice(2) as [string, string, "dns" | "bare", string];
const client = new KubeClient({ server, token, namespace: "default" });
let answered = "";
if (mode === "dns") {
  const dns = await startClusterDns({ client, cluster: DEFAULT_CLUSTER_NETWORK, listen: { address: "127.0.0.1", port: 0 }, upstreams: [], log: createLogger("dns", { level: "error" }) });
  // Synced once the probe name answers.
  for (let i = 0; i < 600; i++) {
    const r = await askUdp("127.0.0.1", dns.port, probe).catch(() => undefined);
    if (r?.rcode === "NOERROR" && r.answers!.length) {
      answered = (r.answers![0] as { data: string }).data;
      break;
    }
    await Bun.sleep(100);
  }
}
await Bun.sleep(1000);
Bun.gc(true);
await Bun.sleep(200);
Bun.gc(true);
const rss = Number(/VmRSS:\s+(\d+)/.exec(await Bun.file("/proc/self/status").text())![1]) * 1024;
// The JS heap after the GC (what is really held), apart from what the allocator kept of the peak.
const heap = heapStats().heapSize;
console.log(JSON.stringify({ mode, rss, heap, answered }));
process.exit(0);
