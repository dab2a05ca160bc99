// kubelet's eviction flags, taken by `bramble agent` and by `bramble server` for its embedded
// agent: --eviction-hard, --eviction-soft, --eviction-soft-grace-period,
// --eviction-minimum-reclaim, --eviction-pressure-transition-period.
import { parseEvictionConfig, ThresholdError, DEFAULT_EVICTION_HARD, type EvictionConfig } from "../agent/eviction/thresholds";
import { FlagError, durationSeconds, stringFlag, type RawFlags } from "./flags";
import type { FlagSpec } from "./server";

export const EVICTION_FLAGS: FlagSpec[] = [
  { name: "eviction-hard", value: "<thresholds>", description: `Hard eviction thresholds, signal<value[,...]; replaces the defaults as a whole (default: ${DEFAULT_EVICTION_HARD}; "" for none)` },
  { name: "eviction-soft", value: "<thresholds>", description: "Soft eviction thresholds, signal<value[,...], acted on once met for their grace period (e.g. memory.available<300Mi)" },
  { name: "eviction-soft-grace-period", value: "<signal=duration,...>", description: "Grace period per soft threshold (e.g. memory.available=1m30s)" },
  { name: "eviction-minimum-reclaim", value: "<signal=value,...>", description: "How much more than the threshold must be available before pressure ends (e.g. nodefs.available=500Mi)" },
  { name: "eviction-pressure-transition-period", value: "<duration>", description: "How long a pressure condition holds after its cause is gone (default: 5m0s)" },
];

/** Undefined when no eviction flag was given (the agent then uses upstream's defaults). */
export function evictionConfigFromFlags(raw: RawFlags): EvictionConfig | undefined {
  if (!EVICTION_FLAGS.some((f) => raw[f.name] !== undefined)) return undefined;
  const period = stringFlag(raw, "eviction-pressure-transition-period");
  try {
    return parseEvictionConfig({
      hard: stringFlag(raw, "eviction-hard"),
      soft: stringFlag(raw, "eviction-soft"),
      softGracePeriod: stringFlag(raw, "eviction-soft-grace-period"),
      minimumReclaim: stringFlag(raw, "eviction-minimum-reclaim"),
      pressureTransitionPeriodMs: period === undefined ? undefined : durationSeconds("eviction-pressure-transition-period", period) * 1000,
    });
  } catch (e) {
    if (e instanceof ThresholdError) throw new FlagError(e.flag, e.message);
    throw e;
  }
}
