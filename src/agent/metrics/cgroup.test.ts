import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectCgroupFs, parseProcCgroup, readProcessCgroup } from "./cgroup";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A fake /sys/fs/cgroup and /proc: files by path relative to the folder. */
function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "cgroup-fixture-"));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const ID = "0123abcd";

describe("cgroup v1 (Docker, cgroupfs driver)", () => {
  const root = fixture({
    "sys/cpuacct/docker/0123abcd/cpuacct.usage": "2500000000\n",
    "sys/memory/docker/0123abcd/memory.usage_in_bytes": "10485760\n",
    "sys/memory/docker/0123abcd/memory.stat": "cache 4194304\ninactive_file 1048576\ntotal_inactive_file 2097152\ntotal_rss 6291456\n",
    "proc/42/cgroup": `12:memory:/docker/${ID}\n4:cpu,cpuacct:/docker/${ID}\n1:name=systemd:/docker/${ID}\n0::/system.slice/docker.service\n`,
  });

  test("detects the layout", () => expect(detectCgroupFs(join(root, "sys")).version).toBe(1));

  test("reads CPU time and the working set (usage minus total_inactive_file)", () => {
    expect(readProcessCgroup(detectCgroupFs(join(root, "sys")), 42, join(root, "proc"))).toEqual({
      cpuUsageNanos: 2_500_000_000,
      memoryUsageBytes: 10_485_760,
      memoryWorkingSetBytes: 10_485_760 - 2_097_152,
    });
  });

  test("a process that is gone has no sample", () => {
    expect(readProcessCgroup(detectCgroupFs(join(root, "sys")), 43, join(root, "proc"))).toBeUndefined();
  });
});

describe("cgroup v2 (unified)", () => {
  const scope = `sys/system.slice/docker-${ID}.scope`;
  const root = fixture({
    "sys/cgroup.controllers": "cpuset cpu io memory pids\n",
    [`${scope}/cpu.stat`]: "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n",
    [`${scope}/memory.current`]: "8388608\n",
    [`${scope}/memory.stat`]: "anon 4194304\nfile 4194304\nactive_file 1048576\ninactive_file 3145728\n",
    "proc/7/cgroup": `0::/system.slice/docker-${ID}.scope\n`,
  });

  test("detects the layout", () => expect(detectCgroupFs(join(root, "sys")).version).toBe(2));

  test("reads usage_usec as nanoseconds and the working set (memory.current minus inactive_file)", () => {
    expect(readProcessCgroup(detectCgroupFs(join(root, "sys")), 7, join(root, "proc"))).toEqual({
      cpuUsageNanos: 1_500_000_000,
      memoryUsageBytes: 8_388_608,
      memoryWorkingSetBytes: 8_388_608 - 3_145_728,
    });
  });

  test("the working set never goes below zero", () => {
    const r = fixture({
      "sys/cgroup.controllers": "",
      "sys/a/cpu.stat": "usage_usec 1\n",
      "sys/a/memory.current": "100\n",
      "sys/a/memory.stat": "inactive_file 4096\n",
      "proc/1/cgroup": "0::/a\n",
    });
    expect(readProcessCgroup(detectCgroupFs(join(r, "sys")), 1, join(r, "proc"))?.memoryWorkingSetBytes).toBe(0);
  });
});

test("parseProcCgroup splits co-mounted controllers", () => {
  const paths = parseProcCgroup("4:cpu,cpuacct:/docker/x\n0::/\n");
  expect(paths.get("cpu")).toBe("/docker/x");
  expect(paths.get("cpuacct")).toBe("/docker/x");
  expect(paths.get("")).toBe("/");
});
