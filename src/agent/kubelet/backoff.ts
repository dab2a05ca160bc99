// CrashLoopBackOff timing as upstream's kubelet does it: the first restart is immediate, then
// 10 s doubling to 5 min; a container that ran for 10 min resets the streak. The streak is kept
// in a label on each container, so a restarted kubelet continues it instead of restarting at once.

export const BACKOFF_INITIAL_MS = 10_000;
export const BACKOFF_MAX_MS = 300_000;
export const BACKOFF_RESET_AFTER_MS = 600_000;

/** Delay before restarting after a crash, given the streak of quick crashes before it. */
export function restartDelayMs(streak: number): number {
  if (streak <= 0) return 0;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** (streak - 1));
}

/** The streak that applies to a container that just exited, from how long it ran. */
export function effectiveStreak(streak: number, ranForMs: number): number {
  return ranForMs >= BACKOFF_RESET_AFTER_MS ? 0 : streak;
}

/** Image pulls back off the same way (ImagePullBackOff), from the number of failures in a row. */
export function pullBackoffMs(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** Math.max(0, failures - 1));
}
