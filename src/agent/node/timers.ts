// One timer for many periodic jobs: keys with due times in a min-heap, a single setTimeout
// armed for the earliest. A thousand simulated nodes renewing Leases every 10 s cost one timer
// and an O(log n) insert per renewal, instead of a thousand intervals waking independently.
export class DueQueue {
  private heap: { at: number; key: string }[] = [];
  /** The live due time per key; heap entries that disagree are stale and skipped. */
  private due = new Map<string, number>();
  private timer?: Timer;
  private armedAt = Infinity;
  private stopped = false;

  constructor(
    private readonly onDue: (key: string) => void,
    private readonly now: () => number = Date.now,
    /** Jobs due within this many ms of each other run in one wake-up. */
    private readonly slackMs = 5,
  ) {}

  /** (Re)schedules key at absolute time `at` (ms); replaces an earlier schedule of it. */
  schedule(key: string, at: number) {
    if (this.stopped) return;
    this.due.set(key, at);
    this.push({ at, key });
    if (at < this.armedAt) this.arm();
  }

  cancel(key: string) {
    this.due.delete(key); // its heap entry is skipped when it surfaces
  }

  has(key: string) {
    return this.due.has(key);
  }

  get size() {
    return this.due.size;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.heap = [];
    this.due.clear();
  }

  private arm() {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
    const top = this.peekLive();
    if (!top || this.stopped) return;
    this.armedAt = top.at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, top.at - this.now()));
  }

  private fire() {
    this.armedAt = Infinity;
    const limit = this.now() + this.slackMs;
    const ready: string[] = [];
    for (let top = this.peekLive(); top && top.at <= limit; top = this.peekLive()) {
      this.pop();
      this.due.delete(top.key);
      ready.push(top.key);
    }
    // Handlers usually reschedule their key; arm after collecting so that works.
    for (const key of ready) {
      if (this.stopped) return;
      try {
        this.onDue(key);
      } catch {
        // A job's failure is the job's business; the queue keeps going.
      }
    }
    if (this.armedAt === Infinity) this.arm();
  }

  /** The earliest entry that is still current, dropping stale ones on the way. */
  private peekLive() {
    while (this.heap.length) {
      const top = this.heap[0];
      if (this.due.get(top.key) === top.at) return top;
      this.pop();
    }
    return undefined;
  }

  private push(e: { at: number; key: string }) {
    const h = this.heap;
    h.push(e);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (h[p].at <= h[i].at) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  private pop() {
    const h = this.heap;
    const last = h.pop()!;
    if (!h.length) return;
    h[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l].at < h[m].at) m = l;
      if (r < h.length && h[r].at < h[m].at) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i], h[m]];
      i = m;
    }
  }
}

/** At most `limit` tasks at a time; the rest wait in order. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so the count never overshoots.
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  get busy() {
    return this.active + this.waiting.length;
  }
}
