// A keyed work queue in the client-go style: adding a key that is already waiting is a no-op
// (dedupe), a key being processed is never handed to a second worker (per-key exclusivity; if
// it is added meanwhile it runs again afterwards), and failed keys come back after a per-key
// exponential backoff.
import { Backoff } from "./backoff";
import { exponentialBuckets, metrics } from "./prometheus";

/** The waiting keys, in the order workers take them. */
interface PendingKeys {
  push(key: string): void;
  shift(): string | undefined;
  readonly length: number;
}

/**
 * Waiting keys by priority, highest first, FIFO within a priority (the scheduler's queue orders
 * pods by spec.priority). A key's priority is read when it is queued; with one priority in use it
 * behaves as a plain FIFO.
 */
class PriorityKeys implements PendingKeys {
  private readonly buckets = new Map<number, string[]>();
  /** Priorities that have waiting keys, highest first. */
  private readonly levels: number[] = [];
  length = 0;

  constructor(private readonly priorityOf: (key: string) => number) {}

  push(key: string) {
    const p = this.priorityOf(key);
    let bucket = this.buckets.get(p);
    if (!bucket) {
      this.buckets.set(p, (bucket = []));
      let at = 0;
      while (at < this.levels.length && this.levels[at]! > p) at++;
      this.levels.splice(at, 0, p);
    }
    bucket.push(key);
    this.length++;
  }

  shift(): string | undefined {
    const p = this.levels[0];
    if (p === undefined) return undefined;
    const bucket = this.buckets.get(p)!;
    const key = bucket.shift();
    if (bucket.length === 0) {
      this.buckets.delete(p);
      this.levels.shift();
    }
    this.length--;
    return key;
  }
}

export interface WorkQueueOptions {
  /** Orders waiting keys by this, highest first (default: first in, first out). */
  priorityOf?(key: string): number;
  /** Exposes workqueue_* metrics under this name (client-go's names and buckets). */
  name?: string;
}

// client-go's workqueue metrics: 10 ns to 10 s in powers of ten.
const QUEUE_BUCKETS = exponentialBuckets(1e-8, 10, 10);
const depth = metrics.gauge("workqueue_depth", "Current depth of workqueue", ["name"]);
const adds = metrics.counter("workqueue_adds_total", "Total number of adds handled by workqueue", ["name"]);
const retries = metrics.counter("workqueue_retries_total", "Total number of retries handled by workqueue", ["name"]);
const queueDuration = metrics.histogram("workqueue_queue_duration_seconds", "How long in seconds an item stays in workqueue before being requested.", ["name"], QUEUE_BUCKETS);
const workDuration = metrics.histogram("workqueue_work_duration_seconds", "How long in seconds processing an item from workqueue takes.", ["name"], QUEUE_BUCKETS);

/** A named queue's series: when each waiting key was queued and each key in processing taken. */
class QueueMetrics {
  private readonly depth;
  private readonly adds;
  private readonly retries;
  private readonly queueDuration;
  private readonly workDuration;
  private readonly queuedAt = new Map<string, number>();
  private readonly takenAt = new Map<string, number>();

  constructor(name: string) {
    const labels = [name];
    this.depth = depth.child(labels);
    this.depth.set(0);
    this.adds = adds.child(labels);
    this.retries = retries.child(labels);
    this.queueDuration = queueDuration.child(labels);
    this.workDuration = workDuration.child(labels);
  }

  added(key: string) {
    this.adds.inc();
    this.depth.inc();
    this.queuedAt.set(key, performance.now());
  }

  /** Handed straight to a waiting worker: counted as an add with no time in the queue. */
  addedAndTaken(key: string) {
    this.adds.inc();
    this.queueDuration.observe(0);
    this.takenAt.set(key, performance.now());
  }

  taken(key: string) {
    this.depth.dec();
    const now = performance.now();
    const at = this.queuedAt.get(key);
    if (at !== undefined) {
      this.queuedAt.delete(key);
      this.queueDuration.observe((now - at) / 1000);
    }
    this.takenAt.set(key, now);
  }

  done(key: string) {
    const at = this.takenAt.get(key);
    if (at === undefined) return;
    this.takenAt.delete(key);
    this.workDuration.observe((performance.now() - at) / 1000);
  }

  retried() {
    this.retries.inc();
  }
}

export class WorkQueue {
  private readonly queue: PendingKeys;
  private readonly waiting = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while they were being processed: requeued when processing ends. */
  private readonly dirty = new Set<string>();
  private readonly backoffs = new Map<string, Backoff>();
  private readonly delayed = new Map<string, Timer>();
  private readonly takers: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly metrics?: QueueMetrics;

  constructor(
    private readonly baseDelayMs = 100,
    private readonly maxDelayMs = 60_000,
    opts: WorkQueueOptions = {},
  ) {
    this.queue = opts.priorityOf ? new PriorityKeys(opts.priorityOf) : [];
    if (opts.name !== undefined) this.metrics = new QueueMetrics(opts.name);
  }

  add(key: string) {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.waiting.has(key)) return;
    this.waiting.add(key);
    const taker = this.takers.shift();
    if (taker) {
      this.waiting.delete(key);
      this.processing.add(key);
      this.metrics?.addedAndTaken(key);
      taker(key);
    } else {
      this.queue.push(key);
      this.metrics?.added(key);
    }
  }

  /** Adds the key after a delay (a later add of the same key before then wins). */
  addAfter(key: string, delayMs: number) {
    if (this.shuttingDown || this.delayed.has(key)) return;
    this.delayed.set(
      key,
      setTimeout(() => {
        this.delayed.delete(key);
        this.add(key);
      }, delayMs),
    );
  }

  /** Requeues a failed key with its own growing backoff. */
  addRateLimited(key: string) {
    let b = this.backoffs.get(key);
    if (!b) this.backoffs.set(key, (b = new Backoff(this.baseDelayMs, this.maxDelayMs)));
    this.metrics?.retried();
    this.addAfter(key, b.next());
  }

  /** The key succeeded: its backoff starts over next time. */
  forget(key: string) {
    this.backoffs.delete(key);
  }

  /** The next key, marked as processing; undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.waiting.delete(key);
      this.processing.add(key);
      this.metrics?.taken(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.takers.push(resolve));
  }

  /** Processing of key ended; if it was added meanwhile, it is queued again. */
  done(key: string) {
    this.processing.delete(key);
    this.metrics?.done(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  get length() {
    return this.queue.length;
  }

  shutdown() {
    this.shuttingDown = true;
    for (const t of this.delayed.values()) clearTimeout(t);
    this.delayed.clear();
    for (const take of this.takers.splice(0)) take(undefined);
  }
}
