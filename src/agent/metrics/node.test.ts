import { expect, test } from "bun:test";
import { parseMeminfo, parseProcStat } from "./node";

test("busy CPU time from /proc/stat's cpu line, without idle and iowait", () => {
  const text = "cpu  100 20 30 5000 40 5 6 7 0 0\ncpu0 50 10 15 2500 20 2 3 3 0 0\nintr 1\n";
  // (100 + 20 + 30 + 5 + 6 + 7) ticks of 10 ms
  expect(parseProcStat(text)).toBe(168 * 10_000_000);
  expect(parseProcStat("intr 1\n")).toBeUndefined();
});

test("working set is MemTotal - MemAvailable", () => {
  const text = "MemTotal:        8000000 kB\nMemFree:         1000000 kB\nMemAvailable:    6000000 kB\n";
  expect(parseMeminfo(text)).toEqual({ totalBytes: 8_000_000 * 1024, availableBytes: 6_000_000 * 1024, workingSetBytes: 2_000_000 * 1024 });
  expect(parseMeminfo("MemTotal: 1 kB\n")).toBeUndefined();
});
