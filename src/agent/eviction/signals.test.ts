import { expect, test } from "bun:test";
import { observe, observeMemory, observePids, sharesFilesystem, type FsStats, type HostReader } from "./signals";
import { containerTasks, containerWorkingSet } from "./usage";

const MEMINFO = "MemTotal:       16000000 kB\nMemFree:         4000000 kB\nMemAvailable:   9000000 kB\nInactive(file):  2000000 kB\n";

function reader(files: Record<string, string>, fs: Record<string, FsStats & { dev?: number }> = {}): HostReader {
  return {
    readFile: (p) => files[p],
    statfs: (p) => fs[p],
    device: (p) => fs[p]?.dev,
  };
}

test("memory.available on cgroup v1: MemTotal − (root usage − total_inactive_file)", () => {
  const r = reader({
    "/proc/meminfo": MEMINFO,
    "/sys/fs/cgroup/memory/memory.usage_in_bytes": "6000000000\n",
    "/sys/fs/cgroup/memory/memory.stat": "cache 1\ninactive_file 5\ntotal_inactive_file 1000000000\n",
  });
  expect(observeMemory(r)).toEqual({ capacity: 16_384_000_000, available: 16_384_000_000 - 5_000_000_000 });
});

test("memory.available on cgroup v2: the root's usage is MemTotal − MemFree (as runc counts it), minus inactive_file", () => {
  const r = reader({ "/proc/meminfo": MEMINFO, "/sys/fs/cgroup/memory.stat": "anon 1\ninactive_file 1024000000\n" });
  // working set = (16000000 − 4000000) kB − 1024000000 = 12288000000 − 1024000000
  expect(observeMemory(r)).toEqual({ capacity: 16_384_000_000, available: 16_384_000_000 - (12_288_000_000 - 1_024_000_000) });
});

test("memory.available from /proc/meminfo alone, and nothing without it", () => {
  const r = reader({ "/proc/meminfo": MEMINFO });
  expect(observeMemory(r)).toEqual({ capacity: 16_384_000_000, available: 16_384_000_000 - (12_288_000_000 - 2_048_000_000) });
  expect(observeMemory(reader({}))).toBeUndefined();
});

test("pid.available: the lower of pid_max and the root pids.max, minus the tasks in /proc/loadavg", () => {
  expect(observePids(reader({ "/proc/sys/kernel/pid_max": "32768\n", "/proc/loadavg": "0.10 0.20 0.30 2/768 4242\n" }))).toEqual({ capacity: 32768, available: 32000 });
  expect(observePids(reader({ "/proc/sys/kernel/pid_max": "32768\n", "/sys/fs/cgroup/pids.max": "1000\n", "/proc/loadavg": "0.10 0.20 0.30 2/768 4242\n" }))).toEqual({ capacity: 1000, available: 232 });
  // "max" (no limit) leaves pid_max.
  expect(observePids(reader({ "/proc/sys/kernel/pid_max": "4194304\n", "/sys/fs/cgroup/pids.max": "max\n", "/proc/loadavg": "0 0 0 1/100 1\n" }))?.capacity).toBe(4194304);
});

test("nodefs and imagefs from statfs (f_bavail like df), inodes from f_ffree; a shared filesystem is noticed", () => {
  const small = { bavail: 100, bsize: 4096, blocks: 1000, ffree: 50, files: 500, dev: 7 };
  const big = { bavail: 9000, bsize: 4096, blocks: 10000, ffree: 900, files: 1000, dev: 8 };
  const r = reader({}, { "/data": small, "/var/lib/docker": big });
  const obs = observe(r, { nodefs: "/data", imagefs: "/var/lib/docker" });
  expect(obs["nodefs.available"]).toEqual({ available: 409_600, capacity: 4_096_000 });
  expect(obs["nodefs.inodesFree"]).toEqual({ available: 50, capacity: 500 });
  expect(obs["imagefs.available"]).toEqual({ available: 36_864_000, capacity: 40_960_000 });
  expect(obs["imagefs.inodesFree"]).toEqual({ available: 900, capacity: 1000 });
  expect(obs["memory.available"]).toBeUndefined();
  expect(sharesFilesystem(r, { nodefs: "/data", imagefs: "/var/lib/docker" })).toBe(false);
  expect(sharesFilesystem(reader({}, { "/a": small, "/b": small }), { nodefs: "/a", imagefs: "/b" })).toBe(true);
  // Docker's data root not known yet: no imagefs signals.
  expect(observe(r, { nodefs: "/data" })["imagefs.available"]).toBeUndefined();
});

test("a container's working set and tasks from its cgroup, in whichever layout Docker uses", () => {
  const v1 = reader({
    "/sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes": "500\n",
    "/sys/fs/cgroup/memory/docker/abc/memory.stat": "total_inactive_file 100\n",
    "/sys/fs/cgroup/pids/docker/abc/pids.current": "3\n",
  });
  expect(containerWorkingSet(v1, "abc")).toBe(400);
  expect(containerTasks(v1, "abc")).toBe(3);
  const v2 = reader({
    "/sys/fs/cgroup/system.slice/docker-abc.scope/memory.current": "900\n",
    "/sys/fs/cgroup/system.slice/docker-abc.scope/memory.stat": "inactive_file 200\n",
    "/sys/fs/cgroup/system.slice/docker-abc.scope/pids.current": "7\n",
  });
  expect(containerWorkingSet(v2, "abc")).toBe(700);
  expect(containerTasks(v2, "abc")).toBe(7);
  expect(containerWorkingSet(v2, "other")).toBeUndefined();
});

test("the real readers measure this machine: memory against MemTotal, the temp dir's filesystem, pids", async () => {
  const { hostReader } = await import("./host-reader");
  const { tmpdir } = await import("node:os");
  const obs = observe(hostReader, { nodefs: tmpdir() });
  const mem = obs["memory.available"]!;
  expect(mem.capacity).toBeGreaterThan(0);
  expect(mem.available).toBeGreaterThan(0);
  expect(mem.available).toBeLessThanOrEqual(mem.capacity);
  expect(obs["nodefs.available"]!.capacity).toBeGreaterThan(obs["nodefs.available"]!.available);
  expect(obs["pid.available"]!.available).toBeGreaterThan(0);
});

test("a pod's disk use: its directory (volumes) and, where images live, its writable layers", async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { podUsage } = await import("./usage");
  const dir = mkdtempSync(join(tmpdir(), "bramble-usage-"));
  try {
    mkdirSync(join(dir, "u1", "volumes", "scratch"), { recursive: true });
    writeFileSync(join(dir, "u1", "volumes", "scratch", "fill"), Buffer.alloc(1024 * 1024, 1));
    const pods = [{ metadata: { uid: "u1", name: "a" } }, { metadata: { uid: "u2", name: "b" } }] as never[];
    const base = { reader: reader({}), containers: async () => [], podDir: (uid: string) => join(dir, uid) };
    const volumes = await podUsage(base, pods, "ephemeral-storage");
    expect(volumes[0]!.disk).toBeGreaterThanOrEqual(1024 * 1024);
    expect(volumes[1]!.disk).toBe(0);
    const layers = async () => new Map([["u2", 5000]]);
    const both = await podUsage({ ...base, writableLayers: layers }, pods, "ephemeral-storage");
    expect(both[1]!.disk).toBe(5000);
    expect(both[0]!.disk).toBe(volumes[0]!.disk);
    const imagesOnly = await podUsage({ ...base, countVolumes: false, writableLayers: layers }, pods, "ephemeral-storage");
    expect(imagesOnly.map((u) => u.disk)).toEqual([0, 5000]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
