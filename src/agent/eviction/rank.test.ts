import { expect, test } from "bun:test";
import type { Pod } from "../../api/resources/core/pod";
import { isCriticalPod, rankForEviction, SYSTEM_CRITICAL_PRIORITY, type PodUsage } from "./rank";
import { evictionMessage } from "./message";

const Mi = 1024 * 1024;
function pod(name: string, opts: { priority?: number; memReq?: string; diskReq?: string; annotations?: Record<string, string> } = {}): Pod {
  const requests: Record<string, string> = {};
  if (opts.memReq) requests.memory = opts.memReq;
  if (opts.diskReq) requests["ephemeral-storage"] = opts.diskReq;
  return {
    metadata: { name, namespace: "default", uid: name, annotations: opts.annotations },
    spec: { priority: opts.priority, containers: [{ name: "c", image: "busybox", resources: { requests } }] },
  } as Pod;
}
const names = (ranked: PodUsage[]) => ranked.map((p) => p.pod.metadata.name);

test("memory: pods over their requests first, then lower priority, then usage above requests", () => {
  const usage: PodUsage[] = [
    { pod: pod("within-request", { memReq: "500Mi" }), memory: 400 * Mi },
    { pod: pod("besteffort-small"), memory: 10 * Mi },
    { pod: pod("besteffort-big"), memory: 300 * Mi },
    { pod: pod("burstable-over", { memReq: "100Mi" }), memory: 150 * Mi },
    { pod: pod("important-over", { priority: 1000 }), memory: 900 * Mi },
  ];
  expect(names(rankForEviction(usage, "memory"))).toEqual(["besteffort-big", "burstable-over", "besteffort-small", "important-over", "within-request"]);
});

test("disk: the same order with ephemeral-storage requests and local disk usage", () => {
  const usage: PodUsage[] = [
    { pod: pod("quiet"), disk: 4096 },
    { pod: pod("writer"), disk: 50 * Mi },
    { pod: pod("allowed", { diskReq: "1Gi" }), disk: 500 * Mi },
  ];
  expect(names(rankForEviction(usage, "ephemeral-storage"))).toEqual(["writer", "quiet", "allowed"]);
});

test("pids: lower priority first, then more processes", () => {
  const usage: PodUsage[] = [
    { pod: pod("few"), pids: 3 },
    { pod: pod("many"), pids: 300 },
    { pod: pod("important", { priority: 10 }), pids: 3000 },
  ];
  expect(names(rankForEviction(usage, "pids"))).toEqual(["many", "few", "important"]);
});

test("critical pods are never candidates: system-critical priority, static and mirror pods", () => {
  const critical = [
    pod("node-critical", { priority: SYSTEM_CRITICAL_PRIORITY + 1000 }),
    pod("cluster-critical", { priority: SYSTEM_CRITICAL_PRIORITY }),
    pod("static", { annotations: { "kubernetes.io/config.source": "file" } }),
    pod("mirror", { annotations: { "kubernetes.io/config.mirror": "abc" } }),
  ];
  for (const p of critical) expect(isCriticalPod(p)).toBe(true);
  expect(isCriticalPod(pod("api", { annotations: { "kubernetes.io/config.source": "api" } }))).toBe(false);
  expect(names(rankForEviction([...critical.map((p) => ({ pod: p, memory: 900 * Mi })), { pod: pod("plain"), memory: 1 }], "memory"))).toEqual(["plain"]);
});

test("the eviction message in upstream's words, naming containers over their requests", () => {
  const threshold = { signal: "memory.available" as const, value: { quantity: 100 * Mi }, gracePeriodMs: 0, text: "100Mi" };
  const p: PodUsage = { pod: pod("hog", { memReq: "64Mi" }), memory: 300 * Mi, containers: [{ name: "c", memory: 300 * Mi }] };
  expect(evictionMessage("memory", threshold, { available: 50 * Mi + 4096, capacity: 1024 * Mi }, p)).toEqual({
    annotations: { offending_containers: "c", offending_containers_usage: "300Mi", starved_resource: "memory" },
    message:
    "The node was low on resource: memory. Threshold quantity: 100Mi, available: 51204Ki. Container c was using 300Mi, request is 64Mi, has larger consumption of memory. ",
  });
  const disk = { signal: "nodefs.available" as const, value: { percentage: 0.1 }, gracePeriodMs: 0, text: "10%" };
  expect(evictionMessage("ephemeral-storage", disk, { available: 1024 * 1024, capacity: 64 * Mi }, { pod: pod("w"), disk: 60 * Mi }).message).toBe(
    "The node was low on resource: ephemeral-storage. Threshold quantity: 6710886, available: 1Mi. ",
  );
});
