// Exponential backoff with jitter, for retries of failed work (watches, reconciles).
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  /** The next delay: base·2^n capped at max, with ±20% jitter so retries do not align. */
  next(): number {
    const raw = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt++);
    return Math.round(raw * (0.8 + Math.random() * 0.4));
  }

  reset() {
    this.attempt = 0;
  }
}
