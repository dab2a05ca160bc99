// Upstream kubelet flags for image garbage collection and container log rotation, taken by
// `bramble agent` and (for its embedded agent) `bramble server` under the kubelet's names and
// checked with the kubelet's rules.
import { DEFAULT_IMAGE_GC_POLICY, type ImageGcPolicy } from "../agent/images/gc";
import { DEFAULT_CONTAINER_LOGS, type ContainerLogPolicy } from "../agent/runtime/runtime";
import { parseQuantity, QuantityError } from "../api/quantity";
import { FlagError, durationSeconds, stringFlag, type RawFlags } from "./flags";
import type { FlagSpec } from "./server";

export const IMAGE_GC_AND_LOG_FLAGS: FlagSpec[] = [
  { name: "image-gc-high-threshold", value: "<percent>", description: "Disk usage (percent of the filesystem holding Docker's images) at which unused images are removed; 100 turns image garbage collection off (default: 85)" },
  { name: "image-gc-low-threshold", value: "<percent>", description: "Disk usage that image garbage collection brings the filesystem down to; below --image-gc-high-threshold (default: 80)" },
  { name: "minimum-image-ttl-duration", value: "<duration>", description: "How long an image must have been present and unused before it may be removed (default: 2m)" },
  { name: "container-log-max-size", value: "<quantity>", description: "Size at which a container's log file is rotated, e.g. 10Mi (default: 10Mi)" },
  { name: "container-log-max-files", value: "<n>", description: "Log files kept per container, the current one included; at least 2 (default: 2)" },
  { name: "housekeeping-interval", value: "<duration>", description: "How often containers' resource usage is read for metrics.k8s.io, `kubectl top` and autoscaling (default: 15s)" },
];

export interface KubeletTuning {
  imageGc: ImageGcPolicy;
  containerLogs: ContainerLogPolicy;
  /** --housekeeping-interval, in ms; undefined: the collector's default. */
  statsIntervalMs?: number;
}

export const KUBELET_TUNING_DEFAULTS: KubeletTuning = { imageGc: DEFAULT_IMAGE_GC_POLICY, containerLogs: DEFAULT_CONTAINER_LOGS };

function percent(flag: string, text: string): number {
  if (!/^\d{1,3}$/.test(text) || Number(text) > 100) throw new FlagError(flag, `"${text}" must be a whole number between 0 and 100, inclusive`);
  return Number(text);
}

function logSize(flag: string, text: string): number {
  let bytes: number;
  try {
    const q = parseQuantity(text);
    if (q.nano % 1_000_000_000n !== 0n) throw new FlagError(flag, `"${text}" is not a whole number of bytes`);
    bytes = Number(q.nano / 1_000_000_000n);
  } catch (e) {
    if (e instanceof FlagError) throw e;
    if (e instanceof QuantityError) throw new FlagError(flag, `"${text}" is not a quantity (e.g. 10Mi, 500Ki): ${e.message}`);
    throw e;
  }
  if (bytes <= 0) throw new FlagError(flag, `"${text}" must be greater than 0`);
  if (!Number.isSafeInteger(bytes)) throw new FlagError(flag, `"${text}" is too large`);
  return bytes;
}

function logFiles(flag: string, text: string): number {
  if (!/^\d{1,6}$/.test(text)) throw new FlagError(flag, `"${text}" is not a whole number`);
  if (Number(text) < 2) throw new FlagError(flag, `${text} must be greater than 1 (the file being written and at least one rotated one)`);
  return Number(text);
}

function positiveMs(flag: string, text: string): number {
  const ms = Math.round(durationSeconds(flag, text) * 1000);
  if (ms < 1000) throw new FlagError(flag, `"${text}" must be at least 1s`);
  return ms;
}

export function kubeletTuningFromFlags(raw: RawFlags): KubeletTuning {
  const d = KUBELET_TUNING_DEFAULTS;
  const text = (f: string) => stringFlag(raw, f);
  const high = text("image-gc-high-threshold");
  const low = text("image-gc-low-threshold");
  const ttl = text("minimum-image-ttl-duration");
  const size = text("container-log-max-size");
  const files = text("container-log-max-files");
  const housekeeping = text("housekeeping-interval");
  const imageGc: ImageGcPolicy = {
    highThresholdPercent: high === undefined ? d.imageGc.highThresholdPercent : percent("image-gc-high-threshold", high),
    lowThresholdPercent: low === undefined ? d.imageGc.lowThresholdPercent : percent("image-gc-low-threshold", low),
    minimumAgeMs: ttl === undefined ? d.imageGc.minimumAgeMs : Math.round(durationSeconds("minimum-image-ttl-duration", ttl) * 1000),
  };
  if (imageGc.lowThresholdPercent >= imageGc.highThresholdPercent) {
    throw new FlagError("image-gc-low-threshold", `${imageGc.lowThresholdPercent} must be less than --image-gc-high-threshold (${imageGc.highThresholdPercent})`);
  }
  return {
    imageGc,
    containerLogs: {
      maxSizeBytes: size === undefined ? d.containerLogs.maxSizeBytes : logSize("container-log-max-size", size),
      maxFiles: files === undefined ? d.containerLogs.maxFiles : logFiles("container-log-max-files", files),
    },
    ...(housekeeping !== undefined && { statsIntervalMs: positiveMs("housekeeping-interval", housekeeping) }),
  };
}
