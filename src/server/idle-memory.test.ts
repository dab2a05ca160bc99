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

test("the background work of an idle cluster (heartbeats) never adds up to a release", () => {
  const h = harness({ busyCpuMs: 2_000 });
  let released = 0;
  for (let i = 0; i < 1000; i++) {
    h.work(40_000); // 4 % of a tick: quiet
    if (h.tick()) released++;
  }
  expect(released).toBe(0);
  h.stop();
});

test("a burst too small to matter does not release", () => {
  const h = harness({ busyCpuMs: 2_000_000 });
  h.work(1_000_000);
  h.tick();
  for (let i = 0; i < 5; i++) expect(h.tick()).toBe(false);
  h.stop();
});
