import { expect, test } from "bun:test";
import { RateTracker, nanoCoresBetween } from "./rate";

test("nanocores: CPU time gained over the wall-clock window", () => {
  // 0.5 s of CPU in 2 s is a quarter of a core.
  expect(nanoCoresBetween({ atMs: 1000, cpuNanos: 1e9 }, { atMs: 3000, cpuNanos: 1.5e9 })).toEqual({ nanoCores: 250_000_000, windowMs: 2000 });
  // Two busy cores.
  expect(nanoCoresBetween({ atMs: 0, cpuNanos: 0 }, { atMs: 1000, cpuNanos: 2e9 })?.nanoCores).toBe(2e9);
});

test("no rate from an empty window or a counter that went back (a new cgroup)", () => {
  expect(nanoCoresBetween({ atMs: 5, cpuNanos: 1 }, { atMs: 5, cpuNanos: 2 })).toBeUndefined();
  expect(nanoCoresBetween({ atMs: 0, cpuNanos: 10 }, { atMs: 1000, cpuNanos: 5 })).toBeUndefined();
});

test("the tracker rates each key against its previous sample and forgets keys no longer seen", () => {
  const t = new RateTracker();
  expect(t.observe("a", { atMs: 0, cpuNanos: 0 })).toBeUndefined();
  expect(t.observe("b", { atMs: 0, cpuNanos: 0 })).toBeUndefined();
  t.endRound();
  expect(t.observe("a", { atMs: 1000, cpuNanos: 1e8 })?.nanoCores).toBe(1e8);
  t.endRound();
  expect(t.size).toBe(1);
  // b came back: a new container with that ID starts over.
  expect(t.observe("b", { atMs: 2000, cpuNanos: 5e8 })).toBeUndefined();
});
