// A keyed work queue in the client-go style: adding a key that is already waiting is a no-op
// (dedupe), a key being processed is never handed to a second worker (per-key exclusivity; if
// it is added meanwhile it runs again afterwards), and failed keys come back after a per-key
// exponential backoff.
import { Backoff } from "./backoff";

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly waiting = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while they were being processed: requeued when processing ends. */
  private readonly dirty = new Set<string>();
  private readonly backoffs = new Map<string, Backoff>();
  private readonly delayed = new Map<string, Timer>();
  private readonly takers: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(
    private readonly baseDelayMs = 100,
    private readonly maxDelayMs = 60_000,
  ) {}

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
      taker(key);
    } else this.queue.push(key);
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
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.takers.push(resolve));
  }

  /** Processing of key ended; if it was added meanwhile, it is queued again. */
  done(key: string) {
    this.processing.delete(key);
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
