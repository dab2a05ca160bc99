// Image garbage collection, as upstream's kubelet does it (pkg/kubelet/images/image_gc_manager.go),
// and disk reclaim for the pressure monitor.
//
// ImageGarbageCollector — the periodic check. Every IMAGE_GC_PERIOD_MS (5 min, upstream's
// ImageGCPeriod) it reads the image filesystem (the filesystem of Docker's data root, statfs);
// when usage is at or above --image-gc-high-threshold (85 %) it removes unused images, least
// recently used first, until what it removed (by the sizes the engine reports) brings usage down
// to --image-gc-low-threshold (80 %). Usage is re-read every DETECT_PERIOD_MS (30 s) between
// checks so "last used" is known to within that. When it cannot free enough it records upstream's
// FreeDiskSpaceFailed event on the Node ("Failed to garbage collect required amount of images.
// Attempted to free N bytes, but only found M bytes eligible to free."), and ImageGCFailed with the
// same message when checks fail twice in a row. A high threshold of 100 turns it off, as upstream.
//
// Never removed: an image any container on the engine uses (running or stopped, anyone's), the
// pause image, an image labelled io.bramble.image.pinned=true, an image younger than
// --minimum-image-ttl-duration (2 m). Upstream measures that age from when the image was first
// detected; here an image must also have been seen unused for that long, so a pod that just ended
// (a Job's next run, a rollback) does not lose its image at once. Both times live in memory
// (usage.ts): after an agent restart every image counts as new.
//
// reclaimDisk(runtime, target, ctx) — for the pressure monitor (exported here, the agreed shape):
//   reclaimDisk(runtime, { targetFreeBytes } | { targetUsagePercent }, ctx?)
//     → Promise<{ freedBytes: number; removedImages: string[]; removedContainers: number }>
// Like upstream's eviction manager reclaiming the image filesystem: dead containers first
// (container-gc.ts: the newest dead attempt per pod container stays unless the pod is over), then
// unused images under the same rules and order as above, until the image filesystem has
// `targetFreeBytes` available or is at most `targetUsagePercent` used. `freedBytes` is the sizes of
// the removed images plus what removing containers gave back (measured). Without `ctx.owns` no
// container is removed (on a shared engine only the caller can tell its own); without
// `ctx.records` every image is new to it and waits out the minimum age — the running kubelet's
// `reclaimDisk(target)` (kubelet.ts) passes both, so prefer that one.
import { statfs } from "node:fs/promises";
import { createLogger, type Logger } from "../../machinery/log";
import { LABELS, ImageInUseError, normalizeImageRef, type ContainerRuntime, type ImageSummary } from "../runtime/runtime";
import { deadContainersToRemove } from "./container-gc";
import { PAUSE_IMAGE } from "./pause";
import { ImageUsageRecords, type ImageSnapshot } from "./usage";

export interface ImageGcPolicy {
  /** Usage (percent of the image filesystem) at or above which images are removed; 100 turns GC off. */
  highThresholdPercent: number;
  /** Usage GC brings the filesystem down to. */
  lowThresholdPercent: number;
  /** An image younger than this, or used more recently, stays (--minimum-image-ttl-duration). */
  minimumAgeMs: number;
}

/** Upstream kubelet's defaults. */
export const DEFAULT_IMAGE_GC_POLICY: ImageGcPolicy = { highThresholdPercent: 85, lowThresholdPercent: 80, minimumAgeMs: 2 * 60_000 };
export const IMAGE_GC_PERIOD_MS = 5 * 60_000;
export const DETECT_PERIOD_MS = 30_000;

export interface ImageFsStats {
  capacityBytes: number;
  availableBytes: number;
}
export type ImageFsReader = () => Promise<ImageFsStats>;

/** The image filesystem as statfs sees it (available: what an unprivileged writer may still use, as cAdvisor reports). */
export function statfsReader(runtime: ContainerRuntime): ImageFsReader {
  let path: string | undefined;
  return async () => {
    path ??= await runtime.imageFsPath();
    if (!path) throw new Error("the container runtime does not report its image filesystem");
    const s = await statfs(path);
    return { capacityBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize };
  };
}

/** What both the periodic GC and reclaimDisk need to pick images. */
export interface ImageRules {
  pauseImage?: string;
  minimumAgeMs?: number;
  /** Only images this accepts are ever removed (default: all). Tests scope GC to their own images. */
  removable?(image: ImageSummary): boolean;
}

export interface FreedImages {
  freedBytes: number;
  /** A tag of each removed image (its ID when it had none). */
  removedImages: string[];
}

/** Unused images in the order they go: least recently used first, then first detected first. */
export function removableImages(snapshot: ImageSnapshot, records: ImageUsageRecords, rules: ImageRules): ImageSummary[] {
  const pause = normalizeImageRef(rules.pauseImage ?? PAUSE_IMAGE);
  const minAge = rules.minimumAgeMs ?? DEFAULT_IMAGE_GC_POLICY.minimumAgeMs;
  const now = snapshot.at;
  const eligible = snapshot.images.filter((image) => {
    const r = records.records.get(image.id);
    if (!r || snapshot.inUse.has(image.id)) return false;
    if (image.repoTags.includes(pause) || image.labels[LABELS.pinnedImage] === "true") return false;
    if (now - r.firstDetected < minAge || (r.lastUsed !== undefined && now - r.lastUsed < minAge)) return false;
    return rules.removable?.(image) ?? true;
  });
  const key = (i: ImageSummary) => records.records.get(i.id)!;
  return eligible.sort((a, b) => (key(a).lastUsed ?? 0) - (key(b).lastUsed ?? 0) || key(a).firstDetected - key(b).firstDetected);
}

/** Removes unused images in order until their sizes add up to bytesToFree (or none is left). */
export async function freeSpace(runtime: ContainerRuntime, records: ImageUsageRecords, bytesToFree: number, rules: ImageRules, log: Logger): Promise<FreedImages> {
  const snapshot = await records.detect(runtime);
  const out: FreedImages = { freedBytes: 0, removedImages: [] };
  const errors: string[] = [];
  for (const image of removableImages(snapshot, records, rules)) {
    if (out.freedBytes >= bytesToFree) break;
    const name = image.repoTags[0] ?? image.id;
    try {
      await runtime.removeUnusedImage(image.id);
    } catch (e) {
      // A container made since the listing: the engine refused, and that is the rule working.
      if (!(e instanceof ImageInUseError)) errors.push(`${name}: ${(e as Error).message}`);
      continue;
    }
    log.info("removed an unused image", { image: name, id: image.id, sizeBytes: image.sizeBytes });
    records.records.delete(image.id);
    out.freedBytes += image.sizeBytes;
    out.removedImages.push(name);
  }
  if (errors.length && out.freedBytes < bytesToFree) throw new Error(`removing images failed: ${errors.join("; ")}`);
  return out;
}

export type NodeEventSink = (type: "Normal" | "Warning", reason: string, message: string) => void;

export interface ImageGcDeps extends ImageRules {
  runtime: ContainerRuntime;
  records?: ImageUsageRecords;
  readImageFs?: ImageFsReader;
  /** Events on this node's Node object. */
  event?: NodeEventSink;
  log?: Logger;
}

export class ImageGarbageCollector {
  readonly records: ImageUsageRecords;
  readonly readImageFs: ImageFsReader;
  private readonly log: Logger;
  private failedBefore = false;
  private timers: Array<ReturnType<typeof setInterval>> = [];
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    readonly policy: ImageGcPolicy,
    private readonly deps: ImageGcDeps,
  ) {
    this.records = deps.records ?? new ImageUsageRecords();
    this.readImageFs = deps.readImageFs ?? statfsReader(deps.runtime);
    this.log = deps.log ?? createLogger("image-gc");
  }

  get enabled(): boolean {
    return this.policy.highThresholdPercent < 100;
  }

  /** Upstream's GarbageCollect: one check, throwing when it could not get below the high threshold's target. */
  async garbageCollect(): Promise<FreedImages> {
    const fs = await this.readImageFs();
    const capacity = fs.capacityBytes;
    const available = Math.min(fs.availableBytes, capacity);
    if (capacity <= 0) {
      const message = "invalid capacity 0 on image filesystem";
      this.deps.event?.("Warning", "InvalidDiskCapacity", message);
      throw new Error(message);
    }
    const usagePercent = 100 - Math.floor((available * 100) / capacity);
    if (usagePercent < this.policy.highThresholdPercent) {
      await this.records.detect(this.deps.runtime);
      return { freedBytes: 0, removedImages: [] };
    }
    const amountToFree = Math.floor((capacity * (100 - this.policy.lowThresholdPercent)) / 100) - available;
    this.log.info("disk usage on the image filesystem is over the high threshold, trying to free bytes down to the low threshold", {
      usage: usagePercent,
      highThreshold: this.policy.highThresholdPercent,
      amountToFree,
      lowThreshold: this.policy.lowThresholdPercent,
    });
    const freed = await freeSpace(this.deps.runtime, this.records, amountToFree, { ...this.deps, minimumAgeMs: this.policy.minimumAgeMs }, this.log);
    if (freed.freedBytes < amountToFree) {
      const message = `Failed to garbage collect required amount of images. Attempted to free ${amountToFree} bytes, but only found ${freed.freedBytes} bytes eligible to free.`;
      this.deps.event?.("Warning", "FreeDiskSpaceFailed", message);
      throw Object.assign(new Error(message), { freed });
    }
    return freed;
  }

  /** One periodic check with upstream's reporting: an ImageGCFailed event only for repeated failures. */
  async check(): Promise<void> {
    try {
      await this.garbageCollect();
      this.failedBefore = false;
    } catch (e) {
      const message = (e as Error).message;
      if (this.failedBefore) {
        this.log.error("image garbage collection failed multiple times in a row", { error: message });
        this.deps.event?.("Warning", "ImageGCFailed", message);
      } else {
        this.log.warn("image garbage collection failed", { error: message });
      }
      this.failedBefore = true;
    }
  }

  start(gcPeriodMs = IMAGE_GC_PERIOD_MS, detectPeriodMs = DETECT_PERIOD_MS): void {
    if (!this.enabled) {
      this.log.info("image garbage collection is off (--image-gc-high-threshold 100)");
      return;
    }
    // One thing at a time against the engine: a slow check never overlaps the next.
    const serial = (f: () => Promise<unknown>) => () => {
      this.running = this.running.then(f).catch((e) => this.log.warn("image usage detection failed", { error: String(e) }));
    };
    serial(() => this.records.detect(this.deps.runtime))();
    this.timers.push(setInterval(serial(() => this.records.detect(this.deps.runtime)), detectPeriodMs));
    this.timers.push(setInterval(serial(() => this.check()), gcPeriodMs));
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.running;
  }
}

export type ReclaimTarget = { targetFreeBytes: number } | { targetUsagePercent: number };

export interface ReclaimResult {
  freedBytes: number;
  removedImages: string[];
  removedContainers: number;
}

export interface ReclaimContext extends ImageRules {
  /** The periodic collector's records, so "last used" and "first detected" are known. */
  records?: ImageUsageRecords;
  readImageFs?: ImageFsReader;
  /** True for this node's containers; without it no container is removed. */
  owns?(labels: Record<string, string>): boolean;
  podIsTerminal?(podUid: string): boolean;
  minimumContainerAgeMs?: number;
  log?: Logger;
}

/** How many bytes must become available on the image filesystem to meet the target. */
function shortfall(fs: ImageFsStats, target: ReclaimTarget): number {
  const available = Math.min(fs.availableBytes, fs.capacityBytes);
  const wanted = "targetFreeBytes" in target ? target.targetFreeBytes : Math.floor((fs.capacityBytes * (100 - target.targetUsagePercent)) / 100);
  return wanted - available;
}

export async function reclaimDisk(runtime: ContainerRuntime, target: ReclaimTarget, ctx: ReclaimContext = {}): Promise<ReclaimResult> {
  const log = ctx.log ?? createLogger("image-gc");
  const readImageFs = ctx.readImageFs ?? statfsReader(runtime);
  const records = ctx.records ?? new ImageUsageRecords();
  let removedContainers = 0;
  let before = await readImageFs();
  if (shortfall(before, target) <= 0) return { freedBytes: 0, removedImages: [], removedContainers };
  let containerGain = 0;
  if (ctx.owns) {
    const dead = deadContainersToRemove(await runtime.listContainers({ [LABELS.managed]: undefined }), {
      owns: ctx.owns,
      podIsTerminal: ctx.podIsTerminal,
      minimumAgeMs: ctx.minimumContainerAgeMs,
      now: Date.now(),
    });
    for (const c of dead) {
      await runtime.removeContainer(c.id);
      removedContainers++;
    }
    if (dead.length) {
      log.info("removed dead containers to reclaim disk space", { count: dead.length });
      const after = await readImageFs();
      containerGain = Math.max(0, after.availableBytes - before.availableBytes);
      before = after;
    }
  }
  const need = shortfall(before, target);
  if (need <= 0) return { freedBytes: containerGain, removedImages: [], removedContainers };
  const freed = await freeSpace(runtime, records, need, ctx, log);
  return { freedBytes: containerGain + freed.freedBytes, removedImages: freed.removedImages, removedContainers };
}
