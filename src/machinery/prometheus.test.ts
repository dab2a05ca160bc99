import { describe, expect, test } from "bun:test";
import { escapeLabelValue, exponentialBuckets, formatValue, metrics, Registry } from "./prometheus";

describe("text exposition format", () => {
  test("a counter with labels: HELP, TYPE and one line per label set", () => {
    const r = new Registry();
    const c = r.counter("things_total", "Things done.", ["kind", "code"]);
    c.inc(["a", "200"]);
    c.inc(["a", "200"], 2);
    c.inc(["b", "404"]);
    expect(r.render()).toBe('# HELP things_total Things done.\n# TYPE things_total counter\nthings_total{kind="a",code="200"} 3\nthings_total{kind="b",code="404"} 1\n');
    expect(c.get(["a", "200"])).toBe(3);
  });

  test("label values escape backslash, double quote and newline; HELP escapes backslash and newline", () => {
    const r = new Registry();
    r.counter("odd_total", 'Help with \\ and\nnewline and "quotes".', ["v"]).inc(['a\\b"c\nd']);
    expect(r.render()).toBe('# HELP odd_total Help with \\\\ and\\nnewline and "quotes".\n# TYPE odd_total counter\nodd_total{v="a\\\\b\\"c\\nd"} 1\n');
    expect(escapeLabelValue("plain")).toBe("plain");
  });

  test("a histogram: cumulative _bucket lines ending in le=\"+Inf\", then _sum and _count", () => {
    const r = new Registry();
    const h = r.histogram("wait_seconds", "Waits.", ["op"], [0.1, 1, 10]);
    for (const v of [0.05, 0.1, 0.5, 3, 100]) h.observe(["get"], v);
    expect(r.render()).toBe(
      [
        "# HELP wait_seconds Waits.",
        "# TYPE wait_seconds histogram",
        'wait_seconds_bucket{op="get",le="0.1"} 2',
        'wait_seconds_bucket{op="get",le="1"} 3',
        'wait_seconds_bucket{op="get",le="10"} 4',
        'wait_seconds_bucket{op="get",le="+Inf"} 5',
        'wait_seconds_sum{op="get"} 103.65',
        'wait_seconds_count{op="get"} 5',
        "",
      ].join("\n"),
    );
  });

  test("a histogram without labels carries only le", () => {
    const r = new Registry();
    r.histogram("d_seconds", "D.", [], [1]).observe([], 2);
    expect(r.render()).toContain('d_seconds_bucket{le="1"} 0\nd_seconds_bucket{le="+Inf"} 1\nd_seconds_sum 2\nd_seconds_count 1\n');
  });

  test("gauges go up and down; a collector sets them at render time", () => {
    const r = new Registry();
    const g = r.gauge("depth", "Depth.", ["name"]);
    g.inc(["q"]);
    g.inc(["q"]);
    g.dec(["q"]);
    const live = r.gauge("live", "Live.");
    let n = 7;
    live.collect = (x) => x.set([], n);
    expect(r.render()).toContain('depth{name="q"} 1\n');
    expect(r.render()).toContain("live 7\n");
    n = 8;
    expect(r.render()).toContain("live 8\n");
  });

  test("a family registered twice is shared; a different shape is refused", () => {
    const r = new Registry();
    const a = r.counter("x_total", "X.", ["a"]);
    expect(r.counter("x_total", "X.", ["a"])).toBe(a);
    expect(() => r.counter("x_total", "X.", ["b"])).toThrow("registered twice");
    expect(() => r.gauge("x_total", "X.", ["a"])).toThrow("registered twice");
  });

  test("bad names, reserved labels and wrong label counts are refused", () => {
    const r = new Registry();
    expect(() => r.counter("bad-name", "B.")).toThrow("invalid metric name");
    expect(() => r.counter("ok_total", "B.", ["__x"])).toThrow("invalid label name");
    expect(() => r.histogram("h", "H.", ["le"], [1])).toThrow('"le" is reserved');
    expect(() => r.histogram("h2", "H.", [], [2, 1])).toThrow("buckets must increase");
    expect(() => r.counter("two_total", "T.", ["a", "b"]).inc(["only"])).toThrow("expected 2 label values");
  });

  test("values: +Inf, -Inf, NaN and plain numbers", () => {
    expect([Infinity, -Infinity, NaN, 3, 0.25].map(formatValue)).toEqual(["+Inf", "-Inf", "NaN", "3", "0.25"]);
    expect(exponentialBuckets(0.001, 2, 4)).toEqual([0.001, 0.002, 0.004, 0.008]);
  });

  test("the process registry carries process_* metrics read at scrape time", () => {
    const text = metrics.render();
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
    expect(text).toMatch(/^# TYPE process_cpu_seconds_total counter$/m);
    expect(text).toMatch(/^process_cpu_seconds_total [\d.e-]+$/m);
    expect(text).toMatch(/^process_start_time_seconds \d+$/m);
  });
});
