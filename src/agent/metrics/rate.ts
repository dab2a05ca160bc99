// CPU usage is a rate: the growth of a cumulative counter (nanoseconds of CPU time) over the
// wall-clock window between two samples, in nanocores (1e9 = one full core), as cadvisor and the
// kubelet compute usageNanoCores. Only the previous sample of each key is kept.

export interface CumulativeSample {
  /** Wall-clock time of the reading, ms since the epoch. */
  atMs: number;
  /** Cumulative CPU time in nanoseconds. */
  cpuNanos: number;
}

export interface Rate {
  nanoCores: number;
  windowMs: number;
}

export function nanoCoresBetween(prev: CumulativeSample, next: CumulativeSample): Rate | undefined {
  const windowMs = next.atMs - prev.atMs;
  // A counter that went back belongs to a new cgroup (a restarted container): no rate yet.
  if (windowMs <= 0 || next.cpuNanos < prev.cpuNanos) return undefined;
  return { nanoCores: Math.round(((next.cpuNanos - prev.cpuNanos) * 1e3) / windowMs), windowMs };
}

/** Previous samples by key (a container ID, "node"); keys not seen in a round are forgotten. */
export class RateTracker {
  private previous = new Map<string, CumulativeSample>();
  private seen = new Set<string>();

  /** Records the sample and answers the rate since this key's previous one, if any. */
  observe(key: string, sample: CumulativeSample): Rate | undefined {
    const prev = this.previous.get(key);
    this.previous.set(key, sample);
    this.seen.add(key);
    return prev && nanoCoresBetween(prev, sample);
  }

  /** Ends a sampling round: drops the keys it did not observe (containers that are gone). */
  endRound(): void {
    for (const k of this.previous.keys()) if (!this.seen.has(k)) this.previous.delete(k);
    this.seen.clear();
  }

  get size(): number {
    return this.previous.size;
  }
}
