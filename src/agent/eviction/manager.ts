// The eviction manager, as upstream's kubelet runs it (pkg/kubelet/eviction/eviction_manager.go
// synchronize): every monitoring period it measures the signals, works out which thresholds are
// met (a met threshold stays met until its minimum reclaim is also recovered; a soft one acts
// only after its grace period), reports pressure conditions (held for the transition period
// after the last time they were seen, so a node does not flap), and, when a threshold acts,
// first reclaims node-level resources (unused images, dead containers) and only if that is not
// enough evicts one pod, chosen by rank.ts. One pod per period: the next measurement shows
// whether that was enough.
import type { Pod } from "../../api/resources/core/pod";
import { createLogger, type Logger } from "../../machinery/log";
import { PRESSURE, type NodeHealth, type PressureCondition } from "../node/conditions";
import { rankForEviction, type PodUsage, type Resource } from "./rank";
import type { Observations } from "./signals";
import { amountOf, type EvictionConfig, type Signal, type Threshold } from "./thresholds";
import { evictionMessage, type EvictionNotice } from "./message";

/** Upstream's evictionMonitoringPeriod. */
export const DEFAULT_MONITOR_INTERVAL_MS = 10_000;

/**
 * Frees disk on the image filesystem (unused images, dead containers) until `targetAvailableBytes`
 * are available there, i.e. `bytesToFree` more than now (the threshold plus its minimum reclaim).
 */
export type ReclaimDisk = (request: { signal: Signal; bytesToFree: number; targetAvailableBytes: number }) => Promise<unknown>;

export interface EvictionDeps {
  observe(): Observations | Promise<Observations>;
  /** Whether the data dir and the images share a filesystem (reclaiming images helps nodefs then). */
  imagesOnNodefs(): boolean;
  /** Pods on this node that may still run (not Succeeded/Failed). */
  activePods(): Pod[];
  /** Usage of these pods for ranking; only asked for under pressure, for the signal that acts. */
  usage(pods: Pod[], resource: Resource, signal: Signal): Promise<PodUsage[]>;
  reclaim?: ReclaimDisk;
  /** Stops the pod now and marks it Failed/Evicted with this message; false when it could not. */
  evict(pod: Pod, notice: EvictionNotice): Promise<boolean>;
  /** The conditions this manager reports changed (so the node's status is written now). */
  conditionsChanged(): void;
  now?: () => number;
  log?: Logger;
}

const CONDITION_OF: Record<Signal, PressureCondition> = {
  "memory.available": "MemoryPressure",
  "nodefs.available": "DiskPressure",
  "nodefs.inodesFree": "DiskPressure",
  "imagefs.available": "DiskPressure",
  "imagefs.inodesFree": "DiskPressure",
  "pid.available": "PIDPressure",
};

export const RESOURCE_OF: Record<Signal, Resource | "inodes"> = {
  "memory.available": "memory",
  "nodefs.available": "ephemeral-storage",
  "nodefs.inodesFree": "inodes",
  "imagefs.available": "ephemeral-storage",
  "imagefs.inodesFree": "inodes",
  "pid.available": "pids",
};

/** Memory before disk before pids (upstream's byEvictionPriority). */
const ORDER: Signal[] = ["memory.available", "nodefs.available", "nodefs.inodesFree", "imagefs.available", "imagefs.inodesFree", "pid.available"];

/** Thresholds met by these observations; `enforceMinReclaim` adds each one's minimum reclaim to its value. */
export function thresholdsMet(thresholds: Threshold[], obs: Observations, enforceMinReclaim: boolean): Threshold[] {
  return thresholds.filter((t) => {
    const o = obs[t.signal];
    if (!o) return false;
    const need = amountOf(t.value, o.capacity) + (enforceMinReclaim && t.minReclaim ? amountOf(t.minReclaim, o.capacity) : 0);
    return o.available < need;
  });
}

export class EvictionManager {
  private readonly now: () => number;
  private readonly log: Logger;
  /** Thresholds that acted last time (their minimum reclaim must be recovered before they clear). */
  private acting: Threshold[] = [];
  private firstObservedAt = new Map<Threshold, number>();
  private conditionLastSeenAt = new Map<PressureCondition, number>();
  private reported = new Set<PressureCondition>();
  private timer?: Timer;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly cfg: EvictionConfig,
    private readonly deps: EvictionDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.log = deps.log ?? createLogger("eviction");
  }

  /** The pressure conditions to report; absent ones are healthy. */
  health(): NodeHealth {
    const out: NodeHealth = {};
    for (const c of this.reported) out[c] = PRESSURE[c];
    return out;
  }

  start(intervalMs = DEFAULT_MONITOR_INTERVAL_MS) {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.synchronize()
        .then(() => {})
        .catch((e) => this.log.warn("eviction pass failed", { error: String(e) }))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
        });
    };
    tick();
  }

  async stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass; returns the evicted pod, if any. */
  async synchronize(): Promise<Pod | undefined> {
    const now = this.now();
    const obs = await this.deps.observe();
    // Met now, or met before and not yet recovered by the minimum reclaim.
    const met = new Set([...thresholdsMet(this.cfg.thresholds, obs, false), ...thresholdsMet(this.acting, obs, true)]);
    const first = new Map<Threshold, number>();
    for (const t of met) first.set(t, this.firstObservedAt.get(t) ?? now);
    this.firstObservedAt = first;
    for (const t of met) this.conditionLastSeenAt.set(CONDITION_OF[t.signal], now);
    const conditions = new Set<PressureCondition>();
    for (const [c, at] of this.conditionLastSeenAt) {
      if (now - at < this.cfg.pressureTransitionPeriodMs || [...met].some((t) => CONDITION_OF[t.signal] === c)) conditions.add(c);
      else this.conditionLastSeenAt.delete(c);
    }
    if (!sameSet(conditions, this.reported)) {
      this.log.info("node pressure changed", { conditions: [...conditions], thresholds: [...met].map(describe) });
      this.reported = conditions;
      this.deps.conditionsChanged();
    }

    // Thresholds whose grace period has passed drive reclaim and eviction.
    const acting = [...met].filter((t) => now - first.get(t)! >= t.gracePeriodMs);
    this.acting = acting;
    if (!acting.length) return undefined;
    acting.sort((a, b) => ORDER.indexOf(a.signal) - ORDER.indexOf(b.signal));
    const threshold = acting[0]!;
    const o = obs[threshold.signal]!;

    if (await this.reclaimed(threshold, obs)) return undefined;

    const resource = RESOURCE_OF[threshold.signal];
    const candidates = this.deps.activePods();
    const usage = await this.deps.usage(candidates, resource === "inodes" ? "ephemeral-storage" : resource, threshold.signal);
    const ranked = rankForEviction(usage, resource === "inodes" ? "ephemeral-storage" : resource);
    for (const p of ranked) {
      const notice = evictionMessage(resource, threshold, o, p);
      const name = `${p.pod.metadata.namespace}/${p.pod.metadata.name}`;
      this.log.warn("evicting a pod", { pod: name, signal: threshold.signal, threshold: threshold.text, available: o.available });
      if (await this.deps.evict(p.pod, notice)) return p.pod;
      this.log.warn("the pod could not be evicted; trying the next", { pod: name });
    }
    if (!ranked.length) this.log.warn("under pressure with no pod to evict", { signal: threshold.signal, available: o.available });
    return undefined;
  }

  /**
   * Node-level reclaim before evicting anyone (upstream's reclaimNodeLevelResources): disk on
   * the image filesystem (or the node's, when images live there). True when that was enough.
   */
  private async reclaimed(threshold: Threshold, obs: Observations): Promise<boolean> {
    const reclaim = this.deps.reclaim;
    if (!reclaim || threshold.signal === "memory.available" || threshold.signal === "pid.available") return false;
    if (threshold.signal.startsWith("nodefs.") && !this.deps.imagesOnNodefs()) return false;
    const o = obs[threshold.signal]!;
    const target = amountOf(threshold.value, o.capacity) + (threshold.minReclaim ? amountOf(threshold.minReclaim, o.capacity) : 0);
    // Inode thresholds count inodes; reclaim is asked in bytes, so ask for what the byte signal lacks.
    const bytesSignal = threshold.signal.replace("inodesFree", "available") as Signal;
    const bytes = obs[bytesSignal];
    const bytesToFree = Math.ceil(threshold.signal === bytesSignal ? target - o.available : Math.max(0, (bytes?.capacity ?? 0) * 0.05));
    this.log.info("reclaiming node-level resources before evicting pods", { signal: threshold.signal, bytesToFree });
    try {
      await reclaim({ signal: threshold.signal, bytesToFree, targetAvailableBytes: (bytes?.available ?? 0) + bytesToFree });
    } catch (e) {
      this.log.warn("reclaiming disk failed", { error: String(e) });
      return false;
    }
    const after = await this.deps.observe();
    const still = thresholdsMet([threshold], after, true).length > 0;
    this.log.info(still ? "reclaim was not enough; evicting" : "reclaim relieved the pressure", { signal: threshold.signal, available: after[threshold.signal]?.available });
    return !still;
  }
}

const sameSet = <T>(a: Set<T>, b: Set<T>) => a.size === b.size && [...a].every((x) => b.has(x));
const describe = (t: Threshold) => `${t.signal}<${t.text}${t.gracePeriodMs ? ` (soft)` : ""}`;
