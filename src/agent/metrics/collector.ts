// The agent's resource usage sampler: every STATS_INTERVAL_SECONDS it reads the cgroup of each
// running container of this node and /proc for the node, and keeps the CPU rate over the last
// interval (see rate.ts). It starts on the first request, with one short round so that first
// answer already has rates, and stops once nobody has asked for IDLE_STOP_MS: an agent nobody
// asks for metrics reads nothing.
import { STATS_INTERVAL_SECONDS, type ContainerStats, type PodStats, type StatsSummary } from "../../api/kubelet-api";
import type { Logger } from "../../machinery/log";
import { NODE_LABEL, kindOf } from "../kubelet/names";
import { LABELS, type ContainerInfo, type ContainerRuntime } from "../runtime/runtime";
import { detectCgroupFs, readProcessCgroup, type CgroupFs, type CgroupSample } from "./cgroup";
import { readNodeSample, type NodeSample } from "./node";
import { RateTracker, type Rate } from "./rate";

export interface StatsCollectorOptions {
  nodeName: string;
  runtime: ContainerRuntime;
  log: Logger;
  intervalMs?: number;
  /** The first window, taken on the first request. */
  firstWindowMs?: number;
  cgroupFs?: CgroupFs;
  procRoot?: string;
  /** Tests swap in fixed readings. */
  readContainer?: (c: ContainerInfo) => CgroupSample | undefined;
  readNode?: () => NodeSample | undefined;
  now?: () => number;
}

interface Reading<T> {
  atMs: number;
  sample: T;
  rate?: Rate;
}

/** No request for this long stops the sampling (the next request starts it again). */
export const IDLE_STOP_MS = 10 * 60_000;

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export class StatsCollector {
  private rates = new RateTracker();
  private containers = new Map<string, { info: ContainerInfo; reading: Reading<CgroupSample> }>();
  private node?: Reading<NodeSample>;
  private started?: Promise<void>;
  private round?: Promise<void>;
  private timer?: ReturnType<typeof setInterval>;
  private lastAskedMs = 0;
  private readonly now: () => number;
  private readonly readContainer: (c: ContainerInfo) => CgroupSample | undefined;
  private readonly readNode: () => NodeSample | undefined;

  constructor(private o: StatsCollectorOptions) {
    this.now = o.now ?? Date.now;
    const fs = o.cgroupFs ?? detectCgroupFs();
    this.readContainer = o.readContainer ?? ((c) => (c.pid ? readProcessCgroup(fs, c.pid, o.procRoot) : undefined));
    this.readNode = o.readNode ?? (() => readNodeSample(o.procRoot));
  }

  /** The latest readings; the first call starts sampling. */
  async summary(): Promise<StatsSummary> {
    this.lastAskedMs = this.now();
    this.started ??= this.start();
    await this.started;
    return this.render();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async start(): Promise<void> {
    await this.sample();
    await Bun.sleep(this.o.firstWindowMs ?? 1000);
    await this.sample();
    this.timer = setInterval(() => {
      if (this.now() - this.lastAskedMs <= IDLE_STOP_MS) return void this.sample();
      this.stop();
      this.started = undefined;
      this.rates = new RateTracker();
      this.containers.clear();
      this.node = undefined;
    }, this.o.intervalMs ?? STATS_INTERVAL_SECONDS * 1000);
    this.timer.unref?.();
  }

  /** One round; rounds never overlap. */
  sample(): Promise<void> {
    this.round ??= this.readAll()
      .catch((err) => this.o.log.warn("reading resource usage failed", { err: String(err) }))
      .finally(() => (this.round = undefined));
    return this.round;
  }

  private async readAll(): Promise<void> {
    const list = await this.o.runtime.listContainers({ [NODE_LABEL]: this.o.nodeName });
    const next = new Map<string, { info: ContainerInfo; reading: Reading<CgroupSample> }>();
    for (const c of list) {
      if (c.state !== "running" || kindOf(c) === "pause" || !c.labels[LABELS.podUid]) continue;
      const sample = this.readContainer(c);
      if (!sample) continue;
      const atMs = this.now();
      next.set(c.id, { info: c, reading: { atMs, sample, rate: this.rates.observe(c.id, { atMs, cpuNanos: sample.cpuUsageNanos }) } });
    }
    const node = this.readNode();
    if (node) {
      const atMs = this.now();
      this.node = { atMs, sample: node, rate: this.rates.observe("node", { atMs, cpuNanos: node.cpuUsageNanos }) };
    }
    this.rates.endRound();
    this.containers = next;
  }

  private render(): StatsSummary {
    const pods = new Map<string, PodStats>();
    for (const { info, reading } of this.containers.values()) {
      const uid = info.labels[LABELS.podUid]!;
      const pod = pods.get(uid) ?? { podRef: { uid, name: info.labels[LABELS.podName] ?? "", namespace: info.labels[LABELS.podNamespace] ?? "default" }, startTime: info.startedAt ?? info.createdAt, containers: [] };
      pods.set(uid, pod);
      const time = iso(reading.atMs);
      const stats: ContainerStats = {
        name: info.labels[LABELS.container] ?? info.name,
        startTime: info.startedAt ?? info.createdAt,
        cpu: { time, usageCoreNanoSeconds: reading.sample.cpuUsageNanos, ...(reading.rate && { usageNanoCores: reading.rate.nanoCores }) },
        memory: { time, usageBytes: reading.sample.memoryUsageBytes, workingSetBytes: reading.sample.memoryWorkingSetBytes },
      };
      pod.containers.push(stats);
      if (pod.startTime > stats.startTime) pod.startTime = stats.startTime;
    }
    for (const pod of pods.values()) {
      // The pod's totals are its containers' (the pause container's share is negligible).
      const all = pod.containers;
      const time = all.map((c) => c.cpu!.time).sort().at(-1)!;
      const rated = all.every((c) => c.cpu?.usageNanoCores !== undefined);
      pod.cpu = { time, usageCoreNanoSeconds: sum(all, (c) => c.cpu!.usageCoreNanoSeconds!), ...(rated && { usageNanoCores: sum(all, (c) => c.cpu!.usageNanoCores!) }) };
      pod.memory = { time, usageBytes: sum(all, (c) => c.memory!.usageBytes!), workingSetBytes: sum(all, (c) => c.memory!.workingSetBytes!) };
      all.sort((a, b) => a.name.localeCompare(b.name));
    }
    const n = this.node;
    const time = n && iso(n.atMs);
    return {
      node: {
        nodeName: this.o.nodeName,
        ...(n && {
          cpu: { time: time!, usageCoreNanoSeconds: n.sample.cpuUsageNanos, ...(n.rate && { usageNanoCores: n.rate.nanoCores }) },
          memory: { time: time!, availableBytes: n.sample.memory.availableBytes, usageBytes: n.sample.memory.workingSetBytes, workingSetBytes: n.sample.memory.workingSetBytes },
        }),
      },
      pods: [...pods.values()],
    };
  }
}

const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((s, x) => s + f(x), 0);
