import { expect, test } from "bun:test";
import { NODE_LABEL } from "../kubelet/names";
import { LABELS, type ContainerInfo, type ContainerRuntime } from "../runtime/runtime";
import { log } from "../../machinery/log";
import { IDLE_STOP_MS, StatsCollector } from "./collector";
import type { CgroupSample } from "./cgroup";

const container = (id: string, pod: string, name: string, kind: "app" | "pause", state: ContainerInfo["state"] = "running"): ContainerInfo => ({
  id,
  name: `k8s_${name}_${pod}`,
  image: "busybox",
  imageId: "sha256:x",
  state,
  createdAt: "2026-01-01T00:00:00Z",
  startedAt: "2026-01-01T00:00:01Z",
  ips: {},
  pid: 100,
  labels: { [NODE_LABEL]: "n1", [LABELS.podUid]: `uid-${pod}`, [LABELS.podName]: pod, [LABELS.podNamespace]: "default", [LABELS.container]: name, [LABELS.kind]: kind },
});

test("rates over the window between two rounds, per container, summed per pod; pause and stopped containers left out", async () => {
  const containers = [container("a", "web", "app", "app"), container("b", "web", "sidecar", "app"), container("p", "web", "POD", "pause"), container("x", "old", "app", "app", "exited")];
  let clock = 1_000_000;
  let rounds = 0;
  // Two seconds of work pass before every round but the first.
  const runtime = { listContainers: async () => (rounds++ && grow(2000), containers) } as unknown as ContainerRuntime;
  // Container a burns half a core, b a tenth; the node two cores.
  const cpu: Record<string, number> = { a: 0, b: 0, node: 0 };
  const grow = (ms: number) => {
    cpu.a! += ms * 0.5e6;
    cpu.b! += ms * 0.1e6;
    cpu.node! += ms * 2e6;
    clock += ms;
  };
  const reading = (id: string): CgroupSample => ({ cpuUsageNanos: cpu[id]!, memoryUsageBytes: 8 << 20, memoryWorkingSetBytes: 4 << 20 });
  const c = new StatsCollector({
    nodeName: "n1",
    runtime,
    log,
    firstWindowMs: 1,
    intervalMs: 3_600_000,
    now: () => clock,
    readContainer: (info) => {
      expect(info.labels[LABELS.kind]).toBe("app");
      return reading(info.id);
    },
    readNode: () => ({ cpuUsageNanos: cpu.node!, memory: { totalBytes: 8 * 2 ** 30, availableBytes: 6 * 2 ** 30, workingSetBytes: 2 * 2 ** 30 } }),
  });
  // The first request takes two readings.
  const s = await c.summary();
  c.stop();
  expect(s.node.nodeName).toBe("n1");
  expect(s.node.cpu?.usageNanoCores).toBe(2e9);
  expect(s.node.memory?.workingSetBytes).toBe(2 * 2 ** 30);
  expect(s.pods).toHaveLength(1);
  const [pod] = s.pods;
  expect(pod!.podRef).toEqual({ uid: "uid-web", name: "web", namespace: "default" });
  expect(pod!.containers.map((x) => [x.name, x.cpu?.usageNanoCores, x.memory?.workingSetBytes])).toEqual([
    ["app", 5e8, 4 << 20],
    ["sidecar", 1e8, 4 << 20],
  ]);
  expect(pod!.cpu?.usageNanoCores).toBe(6e8);
  expect(pod!.memory?.workingSetBytes).toBe(8 << 20);
});

test("a container seen once has no rate yet, and its pod no total rate", async () => {
  const runtime = { listContainers: async () => [container("a", "web", "app", "app")] } as unknown as ContainerRuntime;
  let clock = 0;
  let n = 0;
  const c = new StatsCollector({ nodeName: "n1", runtime, log, firstWindowMs: 1, intervalMs: 3_600_000, now: () => (clock += 1000), readContainer: () => (n++ === 0 ? undefined : { cpuUsageNanos: 5, memoryUsageBytes: 1, memoryWorkingSetBytes: 1 }), readNode: () => undefined });
  const s = await c.summary();
  c.stop();
  expect(s.node.cpu).toBeUndefined();
  expect(s.pods[0]!.containers[0]!.cpu?.usageNanoCores).toBeUndefined();
  expect(s.pods[0]!.cpu?.usageNanoCores).toBeUndefined();
});

test("sampling stops after IDLE_STOP_MS without a request and starts again on the next one", async () => {
  let clock = 0;
  let rounds = 0;
  const runtime = { listContainers: async () => (rounds++, []) } as unknown as ContainerRuntime;
  const c = new StatsCollector({ nodeName: "n1", runtime, log, firstWindowMs: 1, intervalMs: 5, now: () => clock, readNode: () => undefined });
  await c.summary();
  // The timer samples while someone asks.
  while (rounds <= 3) await Bun.sleep(5);
  clock += IDLE_STOP_MS + 1;
  await Bun.sleep(30);
  const stopped = rounds;
  await Bun.sleep(30);
  expect(rounds).toBe(stopped);
  await c.summary();
  expect(rounds).toBe(stopped + 2); // a fresh start: two readings for the first rate
  c.stop();
});
