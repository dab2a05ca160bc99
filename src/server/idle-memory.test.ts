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

test("releases once after start-up when the server goes quiet", () => {
  const h = harness();
  expect(h.tick()).toBe(false); // one quiet tick is not enough
  expect(h.tick()).toBe(true);
  expect(h.tick()).toBe(false);
  expect(h.tick()).toBe(false);
  expect(h.releases()).toBe(1);
  h.stop();
});

test("never releases while busy; releases after a burst once quiet again", () => {
  const h = harness();
  h.tick();
  h.tick(); // the start-up release
  for (let i = 0; i < 5; i++) {
    h.work(800_000); // busy ticks
    expect(h.tick()).toBe(false);
  }
  expect(h.tick()).toBe(false);
  expect(h.tick()).toBe(true);
  expect(h.releases()).toBe(2);
  h.stop();
});

test("a little background work (heartbeats) does not add up to a release quickly", () => {
  const h = harness({ busyCpuMs: 2_000 });
  h.tick();
  h.tick();
  let released = 0;
  for (let i = 0; i < 20; i++) {
    h.work(10); // 10 ms per tick: quiet
    if (h.tick()) released++;
  }
  expect(released).toBe(0);
  h.stop();
});
