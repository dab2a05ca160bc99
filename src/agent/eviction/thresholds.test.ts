import { expect, test } from "bun:test";
import { amountOf, goDurationMs, parseEvictionConfig, ThresholdError, DEFAULT_PRESSURE_TRANSITION_PERIOD_MS } from "./thresholds";

const hard = (text: string) => parseEvictionConfig({ hard: text }).thresholds;
const error = (flags: Parameters<typeof parseEvictionConfig>[0]) => {
  try {
    parseEvictionConfig(flags);
  } catch (e) {
    expect(e).toBeInstanceOf(ThresholdError);
    return { flag: (e as ThresholdError).flag, message: (e as Error).message };
  }
  throw new Error("no error");
};

test("upstream's default hard thresholds when no flag is given", () => {
  const cfg = parseEvictionConfig({});
  expect(cfg.thresholds.map((t) => [t.signal, t.value, t.gracePeriodMs])).toEqual([
    ["memory.available", { quantity: 100 * 1024 * 1024 }, 0],
    ["nodefs.available", { percentage: 0.1 }, 0],
    ["nodefs.inodesFree", { percentage: 0.05 }, 0],
    ["imagefs.available", { percentage: 0.15 }, 0],
  ]);
  expect(cfg.pressureTransitionPeriodMs).toBe(DEFAULT_PRESSURE_TRANSITION_PERIOD_MS);
});

test("--eviction-hard replaces the defaults; spaces are trimmed; 0% and 100% switch a signal off; empty means none", () => {
  expect(hard(" memory.available < 1Gi , pid.available<5%").map((t) => [t.signal, t.value, t.text])).toEqual([
    ["memory.available", { quantity: 1024 ** 3 }, "1Gi"],
    ["pid.available", { percentage: 0.05 }, "5%"],
  ]);
  expect(hard("memory.available<0%,nodefs.available<100%")).toEqual([]);
  expect(hard("")).toEqual([]);
});

test("soft thresholds need a grace period each; minimum reclaim attaches to hard and soft", () => {
  const cfg = parseEvictionConfig({
    hard: "nodefs.available<1Gi",
    soft: "memory.available<300Mi",
    softGracePeriod: "memory.available=1m30s",
    minimumReclaim: "memory.available=100Mi,nodefs.available=5%",
  });
  expect(cfg.thresholds.map((t) => [t.signal, t.gracePeriodMs, t.minReclaim])).toEqual([
    ["nodefs.available", 0, { percentage: 0.05 }],
    ["memory.available", 90_000, { quantity: 100 * 1024 * 1024 }],
  ]);
  expect(error({ soft: "memory.available<300Mi" })).toEqual({ flag: "eviction-soft-grace-period", message: "grace period must be specified for the soft eviction threshold memory.available" });
});

test("bad values get kubelet's one-line errors, naming the flag", () => {
  expect(error({ hard: "memory.available" })).toEqual({ flag: "eviction-hard", message: 'malformed pair, expect string<string: "memory.available"' });
  expect(error({ hard: "memory.free<1Gi" })).toEqual({ flag: "eviction-hard", message: "unsupported eviction signal memory.free" });
  expect(error({ hard: "allocatableMemory.available<1Gi" }).message).toStartWith("eviction signal allocatableMemory.available is not supported by bramble");
  expect(error({ hard: "memory.available<1Gi,memory.available<2Gi" }).message).toBe("duplicate eviction threshold for memory.available");
  expect(error({ hard: "memory.available>1Gi" }).message).toBe('malformed pair, expect string<string: "memory.available>1Gi"');
  expect(error({ hard: "nodefs.available<120%" }).message).toBe("eviction percentage threshold nodefs.available must be <= 100%: 120%");
  expect(error({ hard: "nodefs.available<-5%" }).message).toBe("eviction percentage threshold nodefs.available must be >= 0%: -5%");
  expect(error({ hard: "nodefs.available<x%" }).message).toBe("invalid percentage x% for nodefs.available");
  expect(error({ hard: "memory.available<0" }).message).toBe("eviction threshold memory.available must be positive: 0");
  expect(error({ hard: "memory.available<-1Gi" }).message).toBe("eviction threshold memory.available must be positive: -1Gi");
  expect(error({ hard: "memory.available<lots" }).message).toStartWith('memory.available: "lots" is not a quantity or a percentage');
  expect(error({ soft: "memory.available<1Gi", softGracePeriod: "memory.available=soon" })).toEqual({ flag: "eviction-soft-grace-period", message: 'time: invalid duration "soon"' });
  expect(error({ soft: "memory.available<1Gi", softGracePeriod: "memory.available=-1s" }).message).toBe("invalid eviction grace period specified: -1s, must be a positive value");
  expect(error({ softGracePeriod: "memory.available" })).toEqual({ flag: "eviction-soft-grace-period", message: 'malformed pair, expect string=string: "memory.available"' });
  expect(error({ minimumReclaim: "memory.available=-1Mi" })).toEqual({ flag: "eviction-minimum-reclaim", message: "negative eviction minimum reclaim specified for memory.available" });
  expect(error({ minimumReclaim: "disk=1Gi" })).toEqual({ flag: "eviction-minimum-reclaim", message: "unsupported eviction signal disk" });
});

test("Go durations and amounts against a capacity", () => {
  expect(goDurationMs("1m30s")).toBe(90_000);
  expect(goDurationMs("500ms")).toBe(500);
  expect(goDurationMs("1.5h")).toBe(5_400_000);
  expect(goDurationMs("0")).toBe(0);
  expect(goDurationMs("10")).toBeUndefined();
  expect(goDurationMs("1m 30s")).toBeUndefined();
  expect(amountOf({ percentage: 0.1 }, 1000)).toBe(100);
  expect(amountOf({ quantity: 5 }, 1000)).toBe(5);
});
