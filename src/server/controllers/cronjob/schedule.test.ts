import { beforeAll, describe, expect, test } from "bun:test";
import { compileSchedule, loadCalendar } from "./schedule";
import { mostRecentScheduleTime, nextScheduleDelay, NEXT_SCHEDULE_DELTA_MS } from "./times";

const at = (iso: string) => Date.parse(iso);
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/** The first `n` runs after `from`. */
function runs(spec: string, zone: string | undefined, from: string, n: number): (string | null)[] {
  const s = compileSchedule(spec, zone);
  const out: (string | null)[] = [];
  let t: number | null = at(from);
  for (let i = 0; i < n && t !== null; i++) out.push(iso((t = s.next(t))));
  return out;
}

beforeAll(loadCalendar);

describe("schedule", () => {
  test("next is strictly after, on whole minutes", () => {
    expect(runs("*/5 * * * *", "UTC", "2026-01-01T10:00:00Z", 2)).toEqual(["2026-01-01T10:05:00.000Z", "2026-01-01T10:10:00.000Z"]);
    expect(runs("*/5 * * * *", "UTC", "2026-01-01T10:04:59.999Z", 1)).toEqual(["2026-01-01T10:05:00.000Z"]);
  });

  test("day of month and day of week: OR when both are restricted, AND when one is `*`", () => {
    // 2026-03-01 is a Sunday.
    expect(runs("0 0 1 * 1", "UTC", "2026-02-28T00:00:00Z", 3)).toEqual(["2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z", "2026-03-09T00:00:00.000Z"]);
    expect(runs("0 0 * * 1", "UTC", "2026-02-28T00:00:00Z", 2)).toEqual(["2026-03-02T00:00:00.000Z", "2026-03-09T00:00:00.000Z"]);
    expect(runs("0 0 ? 3 ?", "UTC", "2026-02-28T00:00:00Z", 1)).toEqual(["2026-03-01T00:00:00.000Z"]);
  });

  test("macros", () => {
    expect(runs("@weekly", "UTC", "2026-02-28T12:00:00Z", 1)).toEqual(["2026-03-01T00:00:00.000Z"]);
    expect(runs("@yearly", "UTC", "2026-02-28T12:00:00Z", 1)).toEqual(["2027-01-01T00:00:00.000Z"]);
    expect(runs("@hourly", "UTC", "2026-02-28T12:00:00Z", 1)).toEqual(["2026-02-28T13:00:00.000Z"]);
  });

  test("a time zone moves the runs; a TZ= prefix wins over spec.timeZone", () => {
    expect(runs("0 9 * * *", "Europe/Berlin", "2026-01-10T00:00:00Z", 1)).toEqual(["2026-01-10T08:00:00.000Z"]);
    expect(runs("0 9 * * *", "Europe/Berlin", "2026-07-10T00:00:00Z", 1)).toEqual(["2026-07-10T07:00:00.000Z"]);
    expect(runs("0 9 * * *", "Asia/Kolkata", "2026-07-10T00:00:00Z", 1)).toEqual(["2026-07-10T03:30:00.000Z"]);
    expect(runs("TZ=Asia/Tokyo 0 9 * * *", "Europe/Berlin", "2026-07-10T03:00:00Z", 1)).toEqual(["2026-07-11T00:00:00.000Z"]);
  });

  test("daylight saving: a time in the skipped hour runs when the gap ends, one in the repeated hour runs once", () => {
    // America/New_York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
    expect(runs("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 3)).toEqual([
      "2026-03-08T07:00:00.000Z", // 03:00 EDT, the end of the gap
      "2026-03-09T06:30:00.000Z",
      "2026-03-10T06:30:00.000Z",
    ]);
    expect(runs("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2)).toEqual(["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]);
    // Every-so-often schedules keep their pace in real time through the repeated hour.
    expect(runs("*/30 1 * * *", "America/New_York", "2026-11-01T04:00:00Z", 4)).toEqual([
      "2026-11-01T05:00:00.000Z",
      "2026-11-01T05:30:00.000Z",
      "2026-11-01T06:00:00.000Z",
      "2026-11-01T06:30:00.000Z",
    ]);
  });

  test("latest looks back from a time, after a bound", () => {
    const s = compileSchedule("*/5 * * * *", "UTC");
    expect(iso(s.latest(at("2026-01-01T10:00:00Z"), at("2026-01-01T10:17:00Z")))).toBe("2026-01-01T10:15:00.000Z");
    expect(iso(s.latest(at("2026-01-01T10:00:00Z"), at("2026-01-01T10:15:00Z")))).toBe("2026-01-01T10:15:00.000Z");
    expect(s.latest(at("2026-01-01T10:15:00Z"), at("2026-01-01T10:17:00Z"))).toBeNull();
  });

  test("@every counts from the last run (or creation)", () => {
    const s = compileSchedule("@every 90s");
    expect(iso(s.next(at("2026-01-01T10:00:00.400Z")))).toBe("2026-01-01T10:01:30.000Z");
    expect(iso(s.latest(at("2026-01-01T10:00:00Z"), at("2026-01-01T10:05:00Z")))).toBe("2026-01-01T10:04:30.000Z");
  });

  test("a schedule that never runs has no next time", () => {
    expect(compileSchedule("0 0 30 2 *", "UTC").next(at("2026-01-01T00:00:00Z"))).toBeNull();
    expect(compileSchedule("0 0 , * *", "UTC").next(at("2026-01-01T00:00:00Z"))).toBeNull();
  });

  test("no zone means the server's local time", () => {
    const local = compileSchedule("0 9 * * *").next(at("2026-07-10T00:00:00Z"))!;
    expect(new Date(local).getHours()).toBe(9);
    expect(new Date(local).getMinutes()).toBe(0);
  });
});

describe("which scheduled time is owed", () => {
  const every5 = () => compileSchedule("*/5 * * * *", "UTC");
  const created = at("2026-01-01T10:00:30Z");

  test("nothing before the first time; then that time; the delay points past the next one", () => {
    const s = every5();
    expect(mostRecentScheduleTime({ createdAt: created }, at("2026-01-01T10:03:00Z"), s, true).mostRecent).toBeNull();
    expect(nextScheduleDelay({ createdAt: created }, at("2026-01-01T10:03:00Z"), s)).toBe(2 * 60_000 + NEXT_SCHEDULE_DELTA_MS);
    expect(iso(mostRecentScheduleTime({ createdAt: created }, at("2026-01-01T10:05:00.100Z"), s, true).mostRecent)).toBe("2026-01-01T10:05:00.000Z");
  });

  test("after a gap only the most recent missed time is owed", () => {
    const r = mostRecentScheduleTime({ createdAt: created, lastScheduleTime: at("2026-01-01T10:05:00Z") }, at("2026-01-01T10:32:00Z"), every5(), true);
    expect(iso(r.mostRecent)).toBe("2026-01-01T10:30:00.000Z");
    expect(r.tooManyMissed).toBe(false);
    const d = nextScheduleDelay({ createdAt: created, lastScheduleTime: at("2026-01-01T10:30:00Z") }, at("2026-01-01T10:32:00Z"), every5());
    expect(d).toBe(3 * 60_000 + NEXT_SCHEDULE_DELTA_MS);
  });

  test("more than 100 missed times are flagged", () => {
    const s = compileSchedule("* * * * *", "UTC");
    const few = mostRecentScheduleTime({ createdAt: at("2026-01-01T10:00:00Z") }, at("2026-01-01T11:40:30Z"), s, true);
    expect(few.tooManyMissed).toBe(false); // exactly 100
    const many = mostRecentScheduleTime({ createdAt: at("2026-01-01T10:00:00Z") }, at("2026-01-01T11:41:30Z"), s, true);
    expect(many.tooManyMissed).toBe(true);
    expect(iso(many.mostRecent)).toBe("2026-01-01T11:41:00.000Z");
  });

  test("startingDeadlineSeconds bounds how far back a missed time is looked for", () => {
    const s = compileSchedule("* * * * *", "UTC");
    const r = mostRecentScheduleTime({ createdAt: at("2026-01-01T10:00:00Z"), startingDeadlineSeconds: 120 }, at("2026-01-03T10:00:30Z"), s, true);
    expect(r.tooManyMissed).toBe(false);
    expect(iso(r.mostRecent)).toBe("2026-01-03T10:00:00.000Z");
  });

  test("a schedule that never runs is an error", () => {
    expect(() => mostRecentScheduleTime({ createdAt: created }, created, compileSchedule("0 0 30 2 *", "UTC"), true)).toThrow("no next run time");
  });
});

describe("day fields at the end of short months", () => {
  test("1 March is found after February (day of month OR day of week)", () => {
    // 2026-03-01 is a Sunday, 2026-03-02 a Monday.
    expect(runs("0 0 1 * 1", "UTC", "2026-02-27T00:00:00Z", 2)).toEqual(["2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z"]);
    expect(iso(compileSchedule("0 0 1 * 1", "UTC").latest(0, at("2026-03-01T12:00:00Z")))).toBe("2026-03-01T00:00:00.000Z");
    expect(runs("0 0 31 * *", "UTC", "2026-02-27T00:00:00Z", 1)).toEqual(["2026-03-31T00:00:00.000Z"]);
    expect(runs("0 0 * * 1", "UTC", "2026-02-27T00:00:00Z", 1)).toEqual(["2026-03-02T00:00:00.000Z"]);
  });
});
