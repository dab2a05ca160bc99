// The one reconcile loop every controller and the scheduler runs on: informer handlers only
// enqueue keys; workers take a key, reconcile it from current state, and on failure the key
// comes back with a per-key backoff. A failure on one key never stops the others.
import { createLogger } from "./log";
import { WorkQueue, type WorkQueueOptions } from "./workqueue";

export interface ReconcileResult {
  /** Reconcile this key again after a delay (e.g. a deadline to check). */
  requeueAfterMs?: number;
}

export interface Reconciler {
  name: string;
  /** Brings the world in line with the desired state of `key`, read from informer caches. */
  reconcile(key: string): Promise<ReconcileResult | void>;
  /** Called once per failure, after logging: e.g. to record an Event on the object. */
  onError?(key: string, error: unknown): void;
}

export class ControlLoop {
  readonly queue: WorkQueue;
  private readonly log;
  private running = false;
  private workers: Promise<void>[] = [];

  constructor(
    private readonly reconciler: Reconciler,
    private readonly concurrency = 2,
    queueOptions: WorkQueueOptions = {},
  ) {
    this.queue = new WorkQueue(200, 60_000, { name: reconciler.name, ...queueOptions });
    this.log = createLogger(reconciler.name);
  }

  enqueue = (key: string) => this.queue.add(key);

  start() {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < this.concurrency; i++) this.workers.push(this.work());
  }

  async stop() {
    this.running = false;
    this.queue.shutdown();
    await Promise.all(this.workers);
  }

  private async work() {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        const result = await this.reconciler.reconcile(key);
        this.queue.forget(key);
        if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (e) {
        if (!this.running) return;
        this.log.warn("reconcile failed; will retry", { key, error: e instanceof Error ? e.message : String(e) });
        try {
          this.reconciler.onError?.(key, e);
        } catch {}
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }
}
