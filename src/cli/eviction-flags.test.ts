import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentConfigFromArgs } from "./agent";
import { parseFlags } from "./argv";
import { embeddedNodeFromFlags, SERVER_FLAGS } from "./server";

const host = { isRoot: false, homeDir: "/home/u", ipv4Addresses: ["192.168.1.20"] };

test("bramble agent takes kubelet's eviction flags by their names", () => {
  const dir = mkdtempSync(join(tmpdir(), "bramble-eviction-flags-"));
  try {
    const args = ["--data-dir", dir, "--eviction-hard=memory.available<200Mi,nodefs.available<5%", "--eviction-soft", "memory.available<500Mi", "--eviction-soft-grace-period", "memory.available=30s", "--eviction-minimum-reclaim", "nodefs.available=1Gi", "--eviction-pressure-transition-period", "30s"];
    const cfg = agentConfigFromArgs(args, host, "pi");
    expect(cfg.eviction?.pressureTransitionPeriodMs).toBe(30_000);
    expect(cfg.eviction?.thresholds.map((t) => [t.signal, t.text, t.gracePeriodMs, t.minReclaim])).toEqual([
      ["memory.available", "200Mi", 0, undefined],
      ["nodefs.available", "5%", 0, { quantity: 1024 ** 3 }],
      ["memory.available", "500Mi", 30_000, undefined],
    ]);
    // No eviction flag: the agent applies upstream's defaults itself.
    expect(agentConfigFromArgs(["--data-dir", dir], host, "pi").eviction).toBeUndefined();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a bad eviction flag is one line naming the flag, for the agent and for the server's embedded agent", () => {
  const dir = mkdtempSync(join(tmpdir(), "bramble-eviction-flags-"));
  try {
    const bad: [string[], string][] = [
      [["--eviction-hard", "memory<1Gi"], "--eviction-hard: unsupported eviction signal memory"],
      [["--eviction-soft", "memory.available<1Gi"], "--eviction-soft-grace-period: grace period must be specified for the soft eviction threshold memory.available"],
      [["--eviction-minimum-reclaim", "nodefs.available"], '--eviction-minimum-reclaim: malformed pair, expect string=string: "nodefs.available"'],
      [["--eviction-pressure-transition-period", "soon"], '--eviction-pressure-transition-period: "soon" is not a duration'],
    ];
    for (const [args, msg] of bad) {
      expect(() => agentConfigFromArgs(["--data-dir", dir, ...args], host, "pi")).toThrow(msg);
      expect(() => embeddedNodeFromFlags(parseFlags(args, SERVER_FLAGS))).toThrow(msg);
    }
    expect(embeddedNodeFromFlags(parseFlags(["--eviction-hard", "pid.available<100"], SERVER_FLAGS)).eviction?.thresholds).toEqual([
      { signal: "pid.available", value: { quantity: 100 }, gracePeriodMs: 0, text: "100" },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
