// Limits on the join endpoint, which anyone who can reach the API server may call: how many
// join requests are handled at once (in all, and per source address), in the spirit of
// kube-apiserver's max-in-flight, and how many refused tokens a source may present before it
// must wait. A refusal is a 429 TooManyRequests with Retry-After, as kube-apiserver answers.
// Memory stays bounded: at most `maxSources` addresses are remembered, the oldest forgotten first.

import { ApiError } from "../../api/errors";

export interface JoinLimitOptions {
  /** Join requests handled at once, from all sources. */
  maxInFlight: number;
  maxInFlightPerSource: number;
  /** Refused tokens a source may present within `failureWindowMs`... */
  maxFailures: number;
  /** ...after which it waits until the oldest of them is this old. */
  failureWindowMs: number;
  /** How many sources' failures are remembered. */
  maxSources: number;
  now?: () => number;
}

export const DEFAULT_JOIN_LIMITS: JoinLimitOptions = {
  maxInFlight: 16,
  maxInFlightPerSource: 4,
  maxFailures: 10,
  failureWindowMs: 60_000,
  maxSources: 4096,
};

/** kube-apiserver's answer when it sheds load: 429, the same message, Retry-After in seconds. */
export const tooManyRequests = (retryAfterSeconds: number) =>
  new ApiError(429, "TooManyRequests", "Too many requests, please try again later.", { retryAfterSeconds });

export class JoinLimiter {
  private inFlight = 0;
  private readonly inFlightBySource = new Map<string, number>();
  /** Times of recent refused tokens, oldest first, per source. */
  private readonly failures = new Map<string, number[]>();
  private readonly now: () => number;

  constructor(private readonly o: JoinLimitOptions = DEFAULT_JOIN_LIMITS) {
    this.now = o.now ?? Date.now;
  }

  /** Takes a slot for one request, or throws the 429 to answer with; call the returned release when done. */
  admit(source: string): () => void {
    const wait = this.blockedFor(source);
    if (wait > 0) throw tooManyRequests(Math.ceil(wait / 1000));
    const mine = this.inFlightBySource.get(source) ?? 0;
    if (this.inFlight >= this.o.maxInFlight || mine >= this.o.maxInFlightPerSource) throw tooManyRequests(1);
    this.inFlight++;
    this.inFlightBySource.set(source, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      const left = (this.inFlightBySource.get(source) ?? 1) - 1;
      if (left > 0) this.inFlightBySource.set(source, left);
      else this.inFlightBySource.delete(source);
    };
  }

  /** Records a refused token from `source`. */
  failed(source: string): void {
    const times = this.recent(source);
    times.push(this.now());
    if (times.length > this.o.maxFailures) times.splice(0, times.length - this.o.maxFailures);
    this.failures.delete(source); // re-inserted last: the Map's order is least recently failed first
    this.failures.set(source, times);
    if (this.failures.size > this.o.maxSources) this.failures.delete(this.failures.keys().next().value!);
  }

  /** Milliseconds until `source` may try again (0: now). */
  blockedFor(source: string): number {
    const times = this.recent(source);
    if (times.length < this.o.maxFailures) return 0;
    return times[0]! + this.o.failureWindowMs - this.now();
  }

  private recent(source: string): number[] {
    const times = this.failures.get(source);
    if (!times) return [];
    const cutoff = this.now() - this.o.failureWindowMs;
    while (times.length && times[0]! <= cutoff) times.shift();
    if (!times.length) this.failures.delete(source);
    return times;
  }
}
