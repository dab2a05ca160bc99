// Which scheduled time a CronJob owes a Job for now, and when to look again, as upstream's
// cronjob_controllerv2 decides: runs are counted from status.lastScheduleTime (or the
// CronJob's creation); of the runs missed since, only the most recent is started (after a
// server restart too), and only while within startingDeadlineSeconds of it; more than 100
// missed runs are reported as a sign of clock skew.
import type { Schedule } from "./schedule";

/** Syncs are due this long after a scheduled time, so the time has surely passed (upstream's nextScheduleDelta). */
export const NEXT_SCHEDULE_DELTA_MS = 100;
/** More missed runs than this earn the TooManyMissedTimes warning. */
export const TOO_MANY_MISSED = 100;

/** What the schedule arithmetic reads from a CronJob, as ms since the epoch. */
export interface ScheduleAnchor {
  createdAt: number;
  lastScheduleTime?: number;
  startingDeadlineSeconds?: number;
}

/** A schedule that parses but cannot be followed (it never runs). */
export class InvalidScheduleError extends Error {}

export interface RecentRun {
  /** The latest scheduled time not yet started, or null when none is due. */
  mostRecent: number | null;
  /** More than TOO_MANY_MISSED runs were missed before it. */
  tooManyMissed: boolean;
}

/**
 * The most recent scheduled time in (earliest, now], where earliest is the last schedule time
 * (or creation) and, with `withDeadline`, no earlier than now - startingDeadlineSeconds.
 */
export function mostRecentScheduleTime(a: ScheduleAnchor, now: number, schedule: Schedule, withDeadline: boolean): RecentRun {
  let earliest = a.lastScheduleTime ?? a.createdAt;
  if (withDeadline && a.startingDeadlineSeconds !== undefined) earliest = Math.max(earliest, now - a.startingDeadlineSeconds * 1000);
  const first = schedule.next(earliest);
  const second = first === null ? null : schedule.next(first);
  if (first === null || second === null) throw new InvalidScheduleError("the schedule has no next run time");
  if (now < first) return { mostRecent: null, tooManyMissed: false };
  if (now < second) return { mostRecent: first, tooManyMissed: false };
  // Count the runs missed, but no further than it takes to know there are too many.
  let missed = 2;
  for (let t = schedule.next(second); t !== null && t <= now && missed <= TOO_MANY_MISSED; t = schedule.next(t)) missed++;
  return { mostRecent: schedule.latest(earliest, now), tooManyMissed: missed > TOO_MANY_MISSED };
}

/** How long until the next scheduled time (plus the delta), counted from the most recent one; null if none. */
export function nextScheduleDelay(a: ScheduleAnchor, now: number, schedule: Schedule): number | null {
  let from: number;
  try {
    from = mostRecentScheduleTime(a, now, schedule, false).mostRecent ?? a.lastScheduleTime ?? a.createdAt;
  } catch {
    from = now; // aim for the next slot from now
  }
  const next = schedule.next(from);
  return next === null ? null : next + NEXT_SCHEDULE_DELTA_MS - now;
}
