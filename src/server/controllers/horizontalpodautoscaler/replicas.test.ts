import { describe, expect, test } from "bun:test";
import type { Pod } from "../../../api/resources/core/pod";
import { MetricsError, podRequests, resourceReplicas, type CalculatorOptions, type PodMetric } from "./replicas";

const NOW = Date.parse("2024-05-01T12:00:00Z");
const opts: CalculatorOptions = { tolerance: 0.1, cpuInitializationPeriodMs: 300_000, initialReadinessDelayMs: 30_000, now: NOW };
const iso = (ms: number) => new Date(ms).toISOString();

/** A running pod started `ageS` ago, Ready since then (or not), requesting `cpu` millicores. */
function pod(name: string, o: { cpu?: number; ageS?: number; ready?: boolean; phase?: string } = {}): Pod {
  const start = NOW - (o.ageS ?? 3600) * 1000;
  return {
    metadata: { name, namespace: "default" },
    spec: { containers: [{ name: "c", image: "x", resources: { requests: { cpu: `${o.cpu ?? 100}m` } } }] },
    status: {
      phase: o.phase ?? "Running",
      startTime: iso(start),
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True", lastTransitionTime: iso(start + (o.ready === false ? 0 : 1000)) }],
    },
  } as Pod;
}

const metrics = (m: Record<string, number>) =>
  new Map<string, PodMetric>(Object.entries(m).map(([k, v]) => [k, { value: v, timestampMs: NOW - 1000, windowMs: 15_000 }]));
const millis = (q: string | number) => Number(String(q).replace(/m$/, ""));
const cpu = (current: number, pods: Pod[], m: Record<string, number>, target = 50) =>
  resourceReplicas(current, { utilization: target }, "cpu", pods, metrics(m), podRequests(pods, "cpu", millis), opts);

describe("replica calculation", () => {
  test("usage over target scales up by the ratio, rounded up", () => {
    const pods = [pod("a"), pod("b")];
    const r = cpu(2, pods, { a: 90, b: 90 }); // 90% of 50%: ratio 1.8
    expect(r.utilization).toBe(90);
    expect(r.replicas).toBe(4);
  });

  test("within the 10% tolerance nothing changes", () => {
    const pods = [pod("a"), pod("b")];
    expect(cpu(2, pods, { a: 54, b: 54 }).replicas).toBe(2);
    expect(cpu(2, pods, { a: 46, b: 46 }).replicas).toBe(2);
    expect(cpu(2, pods, { a: 56, b: 56 }).replicas).toBe(3);
  });

  test("usage below target scales down", () => {
    const pods = [pod("a"), pod("b"), pod("c"), pod("d")];
    expect(cpu(4, pods, { a: 10, b: 10, c: 10, d: 10 }).replicas).toBe(1);
  });

  test("scaling down, a pod without a reading counts as using its whole request", () => {
    const pods = [pod("a"), pod("b"), pod("c")];
    // a, b at 10% (ratio 0.2); c missing → 100%: (10+10+100)/300 = 40% → ratio 0.8 → ceil(2.4) = 3.
    expect(cpu(3, pods, { a: 10, b: 10 }).replicas).toBe(3);
    // a, b at 0: (0+0+100)/300 = 33% → ratio 0.66 → 2
    expect(cpu(3, pods, { a: 0, b: 0 }).replicas).toBe(2);
  });

  test("scaling up, a pod without a reading counts as idle", () => {
    const pods = [pod("a"), pod("b")];
    // a at 200% (ratio 4); b missing → 0: 100% → ratio 2 → ceil(2 * 2) = 4.
    expect(cpu(2, pods, { a: 200 }).replicas).toBe(4);
  });

  test("not-ready pods count as idle when scaling up, and are left out otherwise", () => {
    const unready = pod("b", { ready: false, ageS: 10 });
    // a at 100% (ratio 2); b is unready: 0 → 50% → ratio 1 → within tolerance: stays.
    expect(cpu(2, [pod("a"), unready], { a: 100, b: 100 }).replicas).toBe(2);
    // a at 200% → with b at 0: 100% → ratio 2 → 4.
    expect(cpu(2, [pod("a"), unready], { a: 200, b: 100 }).replicas).toBe(4);
    // Scaling down: b is not counted at all.
    expect(cpu(2, [pod("a"), unready], { a: 10, b: 100 }).replicas).toBe(1);
  });

  test("a pod still starting counts only with a reading taken after it turned Ready", () => {
    const young = pod("a", { ageS: 10 }); // Ready 9 s ago, the window is 15 s
    expect(() => cpu(1, [young], { a: 200 })).toThrow(MetricsError);
    const settled = pod("a", { ageS: 60 }); // Ready 59 s ago: the reading is wholly after it
    expect(cpu(1, [settled], { a: 200 }).replicas).toBe(4);
  });

  test("pending pods are unready; failed and deleted ones are ignored", () => {
    const pods = [pod("a"), pod("p", { phase: "Pending" }), pod("f", { phase: "Failed" })];
    // a at 400% (ratio 4); p counts as idle: 200% → ratio 2 over a and p → 4; f is not counted.
    expect(cpu(3, pods, { a: 200, f: 1000 }).replicas).toBe(4);
  });

  test("errors as upstream's", () => {
    expect(() => cpu(1, [], {})).toThrow("no pods returned by selector while calculating replica count");
    expect(() => cpu(1, [pod("a")], {})).toThrow("did not receive metrics for targeted pods (pods might be unready)");
    const noRequest = { ...pod("a"), spec: { containers: [{ name: "c", image: "x" }] } } as Pod;
    expect(() => podRequests([noRequest], "cpu", millis)).toThrow("missing request for cpu in container c of Pod a");
  });

  test("average value targets use the usage per pod", () => {
    const pods = [pod("a"), pod("b")];
    const r = resourceReplicas(2, { averageValue: 100 }, "memory", pods, metrics({ a: 300, b: 300 }), undefined, opts);
    expect(r.replicas).toBe(6);
    expect(r.averageValue).toBe(300);
  });
});
