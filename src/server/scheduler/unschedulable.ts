// Pods that fit nowhere wait here instead of spinning through the work queue. They go back to
// the queue when the cluster changes in a way that can make room (a node joins or changes, a pod
// goes away), coalesced so a burst of events causes one retry each, and on a slow timer as a
// safety net for changes the scheduler does not watch.

export interface UnschedulableOptions {
  /** Delay that coalesces a burst of cluster events into one retry. */
  flushDelayMs: number;
  /** Periodic retry of everything waiting, whatever happened. */
  retryIntervalMs: number;
}

export class UnschedulablePods {
  private readonly keys = new Set<string>();
  private flushTimer: Timer | undefined;
  private periodic: Timer | undefined;

  constructor(
    private readonly enqueue: (key: string) => void,
    private readonly opts: UnschedulableOptions,
  ) {}

  add(key: string) {
    this.keys.add(key);
  }

  delete(key: string) {
    this.keys.delete(key);
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  get size(): number {
    return this.keys.size;
  }

  /** Something changed that may let waiting pods fit: retry them all, soon. */
  clusterChanged() {
    if (this.keys.size === 0 || this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, this.opts.flushDelayMs);
  }

  /** Moves every waiting pod back to the queue; those that still fit nowhere come back here. */
  flush() {
    const keys = [...this.keys];
    this.keys.clear();
    for (const k of keys) this.enqueue(k);
  }

  start() {
    this.periodic ??= setInterval(() => this.flush(), this.opts.retryIntervalMs);
  }

  stop() {
    clearInterval(this.periodic);
    clearTimeout(this.flushTimer);
    this.periodic = this.flushTimer = undefined;
  }
}
