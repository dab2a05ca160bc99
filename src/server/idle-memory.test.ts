import { expect, test } from "bun:test";
import { startIdleMemoryRelease } from "./idle-memory";

function harness(opts: { busyCpuMs?: number } = {}) {
  let cpu = 0;
  let releases = 0;
  const m = startIdleMemoryRelease({ tickMs: 1_000_000, quietCpuFraction: 0.05, quietTicks: 2, busyCpuMs: opts.busyCpuMs ?? 2_000, cpuMs: () => cpu, release: () => releases++, collect: () => {}, collectDelayMs: 1_000_000 });
  return {
    work: (ms: number) => (cpu += ms),
    tick: () => m.tick(),
    releases: () => releases,
    stop: () => m.stop(),
  };
}

test("a quiet server with no burst behind it does nothing", () => {
  const h = harness();
  for (let i = 0; i < 10; i++) expect(h.tick()).toBe(false);
  expect(h.releases()).toBe(0);
  h.stop();
});

test("never releases while busy; releases once after a burst when quiet again", () => {
  const h = harness();
  for (let i = 0; i < 5; i++) {
    h.work(800_000); // busy ticks
    expect(h.tick()).toBe(false);
  }
  expect(h.tick()).toBe(false); // one quiet tick is not enough
  expect(h.tick()).toBe(true);
  for (let i = 0; i < 10; i++) expect(h.tick()).toBe(false);
  expect(h.releases()).toBe(1);
  h.stop();
});

test("a little background work (heartbeats) does not add up to a release quickly", () => {
  const h = harness({ busyCpuMs: 2_000 });
  let released = 0;
  for (let i = 0; i < 20; i++) {
    h.work(10); // 10 ms per tick: quiet
    if (h.tick()) released++;
  }
  expect(released).toBe(0);
  h.stop();
});
