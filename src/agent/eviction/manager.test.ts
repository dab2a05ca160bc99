import { expect, test } from "bun:test";
import type { Pod } from "../../api/resources/core/pod";
import { createLogger } from "../../machinery/log";
import { EvictionManager, type EvictionDeps } from "./manager";
import type { Observations } from "./signals";
import { parseEvictionConfig, type Signal } from "./thresholds";

const Mi = 1024 * 1024;
const quiet = createLogger("test", { write: () => {} });

function pod(name: string, priority = 0): Pod {
  return { metadata: { name, namespace: "default", uid: name }, spec: { priority, containers: [{ name: "c", image: "busybox" }] }, status: { phase: "Running" } } as Pod;
}

/** A node whose measurements the test sets; eviction and reclaim are recorded. */
function node(flags: Parameters<typeof parseEvictionConfig>[0], opts: { shared?: boolean; reclaimFrees?: number } = {}) {
  let t = 0;
  const obs: Observations = {
    "memory.available": { available: 1000 * Mi, capacity: 2000 * Mi },
    "nodefs.available": { available: 900 * Mi, capacity: 1000 * Mi },
    "imagefs.available": { available: 900 * Mi, capacity: 1000 * Mi },
  };
  const pods = [pod("a"), pod("b", 100), pod("c")];
  const usage: Record<string, number> = { a: 10 * Mi, b: 500 * Mi, c: 200 * Mi };
  const evicted: string[] = [];
  const reclaims: { signal: Signal; bytesToFree: number; targetAvailableBytes: number }[] = [];
  let changes = 0;
  const deps: EvictionDeps = {
    observe: () => structuredClone(obs),
    imagesOnNodefs: () => opts.shared ?? false,
    activePods: () => pods.filter((p) => !evicted.includes(p.metadata.name!)),
    usage: async (list) => list.map((p) => ({ pod: p, memory: usage[p.metadata.name!], disk: usage[p.metadata.name!] })),
    reclaim: async (r) => {
      reclaims.push(r);
      for (const s of ["nodefs.available", "imagefs.available"] as const) if (opts.shared || s === r.signal) obs[s]!.available += opts.reclaimFrees ?? 0;
    },
    evict: async (p) => {
      evicted.push(p.metadata.name!);
      return true;
    },
    conditionsChanged: () => changes++,
    now: () => t,
    log: quiet,
  };
  const m = new EvictionManager(parseEvictionConfig(flags), deps);
  return { m, obs, evicted, reclaims, advance: (ms: number) => (t += ms), changes: () => changes };
}

test("memory below the hard threshold: MemoryPressure, then the lowest-priority pod using the most memory is evicted, one per pass", async () => {
  const n = node({ hard: "memory.available<500Mi", pressureTransitionPeriodMs: 30_000 });
  expect(await n.m.synchronize()).toBeUndefined();
  expect(n.m.health()).toEqual({});
  n.obs["memory.available"]!.available = 400 * Mi;
  const first = await n.m.synchronize();
  expect(first?.metadata.name).toBe("c");
  expect(n.m.health().MemoryPressure).toEqual({ status: "True", reason: "KubeletHasInsufficientMemory", message: "kubelet has insufficient memory available" });
  expect(n.changes()).toBe(1);
  expect((await n.m.synchronize())?.metadata.name).toBe("a");
  expect((await n.m.synchronize())?.metadata.name).toBe("b");
  expect(n.reclaims).toEqual([]); // memory is never "reclaimed" from images
  // Recovered: the condition holds for the transition period, then clears (one more status write).
  n.obs["memory.available"]!.available = 1500 * Mi;
  n.advance(10_000);
  expect(await n.m.synchronize()).toBeUndefined();
  expect(n.m.health().MemoryPressure).toBeDefined();
  n.advance(30_000);
  await n.m.synchronize();
  expect(n.m.health()).toEqual({});
  expect(n.changes()).toBe(2);
});

test("a soft threshold reports pressure at once but evicts only after its grace period", async () => {
  const n = node({ hard: "", soft: "memory.available<500Mi", softGracePeriod: "memory.available=1m" });
  n.obs["memory.available"]!.available = 400 * Mi;
  expect(await n.m.synchronize()).toBeUndefined();
  expect(n.m.health().MemoryPressure).toBeDefined();
  n.advance(59_000);
  expect(await n.m.synchronize()).toBeUndefined();
  n.advance(1_000);
  expect((await n.m.synchronize())?.metadata.name).toBe("c");
});

test("minimum reclaim: once met, pressure holds until the threshold plus the minimum reclaim is available", async () => {
  const n = node({ hard: "memory.available<500Mi", minimumReclaim: "memory.available=200Mi", pressureTransitionPeriodMs: 0 });
  n.obs["memory.available"]!.available = 400 * Mi;
  await n.m.synchronize();
  n.obs["memory.available"]!.available = 600 * Mi; // above 500Mi, below 700Mi
  expect((await n.m.synchronize())?.metadata.name).toBe("a");
  expect(n.m.health().MemoryPressure).toBeDefined();
  n.obs["memory.available"]!.available = 750 * Mi;
  expect(await n.m.synchronize()).toBeUndefined();
  expect(n.m.health()).toEqual({});
});

test("disk on the image filesystem: reclaim first; no eviction when that was enough", async () => {
  const n = node({ hard: "imagefs.available<15%", pressureTransitionPeriodMs: 0 }, { reclaimFrees: 200 * Mi });
  n.obs["imagefs.available"]!.available = 100 * Mi;
  expect(await n.m.synchronize()).toBeUndefined();
  expect(n.reclaims).toEqual([{ signal: "imagefs.available", bytesToFree: 150 * Mi - 100 * Mi, targetAvailableBytes: 150 * Mi }]);
  expect(n.evicted).toEqual([]);
  expect(n.m.health().DiskPressure).toEqual({ status: "True", reason: "KubeletHasDiskPressure", message: "kubelet has disk pressure" });
});

test("disk: reclaim not enough, so the pod writing the most is evicted", async () => {
  const n = node({ hard: "imagefs.available<15%" }, { reclaimFrees: 10 * Mi });
  n.obs["imagefs.available"]!.available = 100 * Mi;
  expect((await n.m.synchronize())?.metadata.name).toBe("c");
  expect(n.reclaims.length).toBe(1);
});

test("nodefs with images elsewhere: nothing to reclaim there (as upstream), straight to eviction; with images on it, reclaim first", async () => {
  const apart = node({ hard: "nodefs.available<10%" }, { reclaimFrees: 500 * Mi });
  apart.obs["nodefs.available"]!.available = 50 * Mi;
  expect((await apart.m.synchronize())?.metadata.name).toBe("c");
  expect(apart.reclaims).toEqual([]);
  const shared = node({ hard: "nodefs.available<10%" }, { shared: true, reclaimFrees: 500 * Mi });
  shared.obs["nodefs.available"]!.available = 50 * Mi;
  expect(await shared.m.synchronize()).toBeUndefined();
  expect(shared.reclaims).toEqual([{ signal: "nodefs.available", bytesToFree: 100 * Mi - 50 * Mi, targetAvailableBytes: 100 * Mi }]);
});

test("memory pressure is handled before disk pressure; both conditions are reported", async () => {
  const n = node({ hard: "memory.available<500Mi,nodefs.available<10%" });
  n.obs["memory.available"]!.available = 100 * Mi;
  n.obs["nodefs.available"]!.available = 10 * Mi;
  expect((await n.m.synchronize())?.metadata.name).toBe("c");
  expect(n.reclaims).toEqual([]);
  expect(Object.keys(n.m.health()).sort()).toEqual(["DiskPressure", "MemoryPressure"]);
});

test("a pod that cannot be evicted is skipped for the next; an unmeasured signal never triggers", async () => {
  const n = node({ hard: "memory.available<500Mi,pid.available<10" });
  n.obs["memory.available"]!.available = 100 * Mi;
  const m = n.m as unknown as { deps: EvictionDeps };
  const evict = m.deps.evict;
  m.deps.evict = async (p) => (p.metadata.name === "c" ? false : evict(p, { message: "", annotations: {} }));
  expect((await n.m.synchronize())?.metadata.name).toBe("a");
  expect(n.m.health().PIDPressure).toBeUndefined();
});
