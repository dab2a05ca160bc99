// Where the server's memory goes, from inside: starts `startServer` in this process (libSQL file
// store, no agent), creates the memory benchmark's 10,000 objects over HTTPS, lets it settle, and
// prints the JS heap (after a full GC) by object type at each step, plus RSS. The load generator
// runs in the same process, so only numbers taken after a GC (when its requests are gone) count.
//   bun scripts/bench/server-heap.ts [--objects 10000] [--settle-s 45] [--snapshot /tmp/heap.json]
import { heapStats } from "bun:jsc";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readKubeconfig, resolveContext } from "../../src/client/kubeconfig.ts";
import { Informer } from "../../src/client/informer.ts";
import { WatchCache } from "../../src/server/apiserver/watchcache.ts";
import { EventRecorder } from "../../src/client/events.ts";
import { OwnershipGraph } from "../../src/server/controllers/gc/graph.ts";
import { ControllerIndex } from "../../src/server/controllers/nsindex.ts";
import { UnschedulablePods } from "../../src/server/scheduler/unschedulable.ts";
import { defaultServerParts, startServer } from "../../src/server/server.ts";
import { apiClient, runLoad } from "./lib/load.ts";
import { mb, memoryOf } from "./lib/proc.ts";
import { freePort } from "./lib/server.ts";
import { benchConfigMap, benchPod } from "./lib/objects.ts";

const { values: args } = parseArgs({
  options: {
    objects: { type: "string", default: "10000" },
    "settle-s": { type: "string", default: "45" },
    snapshot: { type: "string" },
  },
});
const OBJECTS = Number(args.objects);

function report(label: string) {
  Bun.gc(true);
  const h = heapStats();
  const top = Object.entries(h.objectTypeCounts)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([t, n]) => `${t} ${n}`)
    .join(", ");
  const rss = memoryOf(process.pid).rss;
  console.log(`${label}: RSS ${mb(rss)} MB, heap ${mb(h.heapSize)} MB (capacity ${mb(h.heapCapacity)}, extra ${mb(h.extraMemorySize)}), objects ${h.objectCount}\n  ${top}`);
}

// Keep hold of the watch cache and the informers, to weigh them at the end by dropping them.
let watchCache: WatchCache | undefined;
const informers: Informer<any>[] = [];
const startCache = WatchCache.start;
WatchCache.start = async (...a: Parameters<typeof startCache>) => (watchCache = await startCache.apply(WatchCache, a));
const startInformer = Informer.prototype.start;
Informer.prototype.start = function (this: Informer<any>) {
  informers.push(this);
  return startInformer.call(this);
};

/** Instances of a class, caught on the first call of one of its methods. */
function catchInstances(proto: object, method: string): Set<any> {
  const seen = new Set<any>();
  const p = proto as Record<string, (...a: unknown[]) => unknown>;
  const orig = p[method]!;
  p[method] = function (this: unknown, ...a: unknown[]) {
    seen.add(this);
    return orig.apply(this, a);
  };
  return seen;
}
const graphs = catchInstances(OwnershipGraph.prototype, "upsert");
const indexes = catchInstances(ControllerIndex.prototype, "put");
const recorders = catchInstances(EventRecorder.prototype, "write");
const waiting = catchInstances(UnschedulablePods.prototype, "add");
const clearMaps = (set: Set<any>) => {
  for (const o of set) for (const v of Object.values(o)) if (v instanceof Map || v instanceof Set) v.clear();
    else if (v && typeof v === "object" && (v as { buckets?: unknown }).buckets instanceof Map) (v as { buckets: Map<unknown, unknown> }).buckets.clear();
};

/** Anonymous mappings with more than 1 MB resident: virtual size tells the allocators apart. */
function anonymousRegions() {
  const lines = require("node:fs").readFileSync("/proc/self/smaps", "utf8").split("\n") as string[];
  const out: string[] = [];
  let head = "";
  for (const l of lines) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(l)) head = l;
    else if (l.startsWith("Rss:")) {
      const kb = Number(l.split(/\s+/)[1]);
      const [range, , , , , name] = head.split(/\s+/);
      const [a, b] = range!.split("-").map((h) => parseInt(h, 16));
      if (!name && kb > 1024) out.push(`${(kb / 1024).toFixed(1)}/${((b! - a!) / 1048576).toFixed(0)}`);
    }
  }
  console.log(`anonymous regions, resident/virtual MB: ${out.join(" ")}`);
}

/** Heap (after a full GC) freed by dropping what `drop` lets go of. */
function weigh(label: string, drop: () => void) {
  Bun.gc(true);
  const before = heapStats().heapSize;
  drop();
  Bun.gc(true);
  console.log(`  ${label}: ${mb(before - heapStats().heapSize)} MB of heap`);
}

const dataDir = mkdtempSync(join(tmpdir(), "bramble-heap-"));
const port = freePort();
const server = await startServer(
  {
    dataDir,
    bindAddress: "127.0.0.1",
    httpsListenPort: port,
    advertiseAddress: "127.0.0.1",
    datastoreEndpoint: `file:${join(dataDir, "server", "state.db")}`,
    clusterCidr: "10.42.0.0/16",
    serviceCidr: "10.43.0.0/16",
    serviceNodePortRange: [30000, 32767],
    clusterDns: "10.43.0.10",
    clusterDomain: "cluster.local",
    podNetwork: "none",
    serviceProxy: true,
    clusterDnsServer: true,
    serviceLB: true,
    disableAgent: true,
    schedulerPolicy: "binpack",
    nodeMonitorGracePeriodSeconds: 20,
    notReadyTolerationSeconds: 10,
  },
  defaultServerParts,
);
try {
  const ctx = resolveContext(readKubeconfig(server.adminKubeconfigPath));
  const api = apiClient({ url: server.url, token: ctx.token!, caCertPem: ctx.caCertPem! });
  await Bun.sleep(5000);
  report("idle after start");
  for (let n = 0; n < 10; n++) await api.post("/api/v1/namespaces", { metadata: { name: `bench-${n}` } });
  const r = await runLoad({
    name: "create",
    clients: 32,
    maxRequests: OBJECTS,
    expect: 201,
    request: (_, i) => {
      const ns = `bench-${i % 10}`;
      return i % 2 === 0
        ? api.post(`/api/v1/namespaces/${ns}/configmaps`, benchConfigMap(`cm-${i}`, i))
        : api.post(`/api/v1/namespaces/${ns}/pods`, benchPod(`pod-${i}`, i));
    },
  });
  console.log(`created ${r.requests} at ${r.rate.toFixed(0)}/s, ${r.errors} errors`);
  report("right after creates");
  const settleS = Number(args["settle-s"]);
  for (let t = 15; t <= settleS; t += 15) {
    await Bun.sleep(15_000);
    report(`settled ${t} s`);
  }
  const events = (await (await api.get("/api/v1/events?limit=1")).json()) as { metadata?: { remainingItemCount?: number; resourceVersion?: string } };
  console.log(`events: ${events.metadata?.remainingItemCount ?? "?"}+1 remaining; revision ${events.metadata?.resourceVersion}`);
  anonymousRegions();
  // Destructive, so last: what each holder keeps alive on its own.
  console.log("what dropping each holder frees (only what nothing else shares):");
  const wc = watchCache as unknown as { history: unknown[]; historyStart: number; collections: Map<string, Map<string, unknown>> };
  console.log(`  watch cache: ${wc.collections.size} collections, ${watchCache!.size()} objects, ${wc.history.length - wc.historyStart} events in history`);
  weigh("watch cache event history", () => {
    wc.history = [];
    wc.historyStart = 0;
  });
  weigh(`event recorders' memory of recent events (${recorders.size})`, () => clearMaps(recorders));
  weigh("scheduler's unschedulable set", () => clearMaps(waiting));
  weigh(`controllers' owner indexes (${indexes.size})`, () => clearMaps(indexes));
  weigh("garbage collector's ownership graph", () => clearMaps(graphs));
  for (const inf of informers) {
    const c = (inf as unknown as { cache: Map<string, unknown>; client: { ref: { plural: string } } });
    if (c.cache.size < 100) continue;
    weigh(`informer ${c.client.ref.plural} (${c.cache.size} objects)`, () => c.cache.clear());
  }
  weigh("watch cache objects", () => wc.collections.clear());
  if (args.snapshot) {
    await Bun.write(args.snapshot, JSON.stringify(Bun.generateHeapSnapshot()));
    console.log(`heap snapshot: ${args.snapshot}`);
  }
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
