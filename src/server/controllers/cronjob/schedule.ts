// Run times of a CronJob's schedule. The grammar is the API's (api/resources/batch/cron.ts,
// robfig/cron's rules, as upstream); the calendar arithmetic in a time zone is croner's, loaded
// on first use so a server without CronJobs never pays for it (nor for the time zone data the
// runtime loads with it).
//
// Times are ms since the epoch. A schedule without a zone runs in the server's local time, as
// upstream's runs in kube-controller-manager's. Across daylight-saving changes croner follows
// Vixie cron (and the Open Cron Pattern Specification): a fixed time that falls in the skipped
// hour runs when the gap ends, and one in the repeated hour runs once.
import { parseSchedule, type ParsedSchedule } from "../../../api/resources/batch/cron";

type Croner = typeof import("croner");
let croner: Croner | undefined;

/** Loads the calendar library; idempotent and cheap after the first call. */
export async function loadCalendar(): Promise<void> {
  croner ??= await import("croner");
}

export interface Schedule {
  /** The first run strictly after `t` (runs fall on whole seconds), or null if there is none. */
  next(t: number): number | null;
  /** The latest run in (after, atOrBefore], counting runs from `after` on; null if none. */
  latest(after: number, atOrBefore: number): number | null;
}

const floorSecond = (t: number) => Math.floor(t / 1000) * 1000;

/**
 * The schedule of a CronJob: `spec.schedule` in `spec.timeZone` (a TZ= prefix in the schedule
 * itself wins, as upstream). Throws the parser's error for a schedule that does not parse, and
 * croner's for a zone the runtime does not know. loadCalendar() must have run before.
 */
export function compileSchedule(spec: string, timeZone?: string): Schedule {
  const parsed = parseSchedule(spec);
  const zone = parsed.timeZone ?? timeZone;
  return parsed.kind === "every" ? everySchedule(parsed.seconds) : cronSchedule(parsed, zone);
}

function everySchedule(seconds: number): Schedule {
  const step = seconds * 1000;
  return {
    next: (t) => floorSecond(t) + step,
    latest(after, atOrBefore) {
      const start = floorSecond(after);
      const n = Math.floor((atOrBefore - start) / step);
      return n >= 1 ? start + n * step : null;
    },
  };
}

function cronSchedule(parsed: Extract<ParsedSchedule, { kind: "cron" }>, zone: string | undefined): Schedule {
  const lib = croner;
  if (!lib) throw new Error("schedule calendar not loaded");
  // A field that allows no value never matches; nor does a pattern with no run (30 February).
  if (parsed.pattern === undefined) return { next: () => null, latest: () => null };
  const options = {
    mode: "5-part" as const,
    domAndDow: false,
    paused: true,
    ...(zone !== undefined && zone !== "" && zone !== "Local" && { timezone: zone }),
  };
  // With both day fields restricted a day matches either (OR). croner can get that wrong at the
  // end of a short month (a weekday match on "30 February" rolls over and hides 1 March), so
  // the runs are taken as the union of two schedules, one per day field, each of which croner
  // reads right.
  const [minute, hour, dom, month, dow] = parsed.pattern.split(" ");
  const patterns = dom !== "*" && dow !== "*" ? [`${minute} ${hour} ${dom} ${month} *`, `${minute} ${hour} * ${month} ${dow}`] : [parsed.pattern];
  const crons = patterns.map((p) => new lib.Cron(p, options));
  const times = (f: (c: (typeof crons)[number]) => Date | null | undefined) => crons.map((c) => f(c)?.getTime()).filter((t): t is number => t !== undefined);
  return {
    next(t) {
      const found = times((c) => c.nextRun(new Date(t)));
      return found.length ? Math.min(...found) : null;
    },
    latest(after, atOrBefore) {
      // croner's previous runs are strictly before its reference, to the second.
      const found = times((c) => c.previousRuns(1, new Date(floorSecond(atOrBefore) + 1000))[0]);
      const run = found.length ? Math.max(...found) : undefined;
      return run !== undefined && run > after ? run : null;
    },
  };
}
