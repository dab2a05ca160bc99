import { describe, expect, test } from "bun:test";
import { isKnownTimeZone, parseGoDuration, parseSchedule, scheduleError } from "./cron";

const pattern = (spec: string) => {
  const s = parseSchedule(spec);
  return s.kind === "cron" ? s.pattern : `every ${s.seconds}s`;
};

describe("parseSchedule", () => {
  test("five fields, with ranges, steps, lists and names", () => {
    expect(pattern("*/15 * * * *")).toBe("0,15,30,45 * * * *");
    expect(pattern("0 9-17/4 * * mon-fri")).toBe("0 9,13,17 * * 1,2,3,4,5");
    expect(pattern("30 2 1,15 JAN,jul *")).toBe("30 2 1,15 1,7 *");
    expect(pattern("5/20 * * * *")).toBe("5,25,45 * * * *");
    expect(pattern("  0   0 * *  sun ")).toBe("0 0 * * 0");
  });

  test("day fields keep `*` (and `?`, `*/1`) apart from an explicit full list, which decides AND or OR", () => {
    expect(pattern("0 0 ? * 1")).toBe("0 0 * * 1");
    expect(pattern("0 0 */1 * 1")).toBe("0 0 * * 1");
    expect(pattern("0 0 */2 * 1")!.split(" ")[2]).toStartWith("1,3,5");
    expect(pattern("0 0 1-31 * 1")!.split(" ")[2]).toBe(Array.from({ length: 31 }, (_, i) => i + 1).join(","));
  });

  test("macros", () => {
    expect(pattern("@yearly")).toBe("0 0 1 1 *");
    expect(pattern("@annually")).toBe("0 0 1 1 *");
    expect(pattern("@monthly")).toBe("0 0 1 * *");
    expect(pattern("@weekly")).toBe("0 0 * * 0");
    expect(pattern("@daily")).toBe("0 0 * * *");
    expect(pattern("@midnight")).toBe("0 0 * * *");
    expect(pattern("@hourly")).toBe("0 * * * *");
  });

  test("@every, in whole seconds and at least one", () => {
    expect(pattern("@every 1h30m")).toBe("every 5400s");
    expect(pattern("@every 90s")).toBe("every 90s");
    expect(pattern("@every 1.5s")).toBe("every 1s");
    expect(pattern("@every 300ms")).toBe("every 1s");
  });

  test("a TZ= or CRON_TZ= prefix names the zone", () => {
    expect(parseSchedule("TZ=Europe/Berlin 0 3 * * *")).toMatchObject({ kind: "cron", timeZone: "Europe/Berlin", pattern: "0 3 * * *" });
    expect(parseSchedule("CRON_TZ=UTC @daily")).toMatchObject({ timeZone: "UTC", pattern: "0 0 * * *" });
  });

  test("errors in upstream's words", () => {
    expect(scheduleError("")).toBe("empty spec string");
    expect(scheduleError("* * * *")).toBe("expected exactly 5 fields, found 4: [* * * *]");
    expect(scheduleError("0 * * * * *")).toBe("expected exactly 5 fields, found 6: [0 * * * * *]");
    expect(scheduleError("60 * * * *")).toBe("end of range (60) above maximum (59): 60");
    expect(scheduleError("* * 0 * *")).toBe("beginning of range (0) below minimum (1): 0");
    expect(scheduleError("* * * * 7")).toBe("end of range (7) above maximum (6): 7");
    expect(scheduleError("5-1 * * * *")).toBe("beginning of range (5) beyond end of range (1): 5-1");
    expect(scheduleError("*/0 * * * *")).toBe("step of range should be a positive number: */0");
    expect(scheduleError("1-2-3 * * * *")).toBe("too many hyphens: 1-2-3");
    expect(scheduleError("*/2/3 * * * *")).toBe("too many slashes: */2/3");
    expect(scheduleError("x * * * *")).toBe('failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax');
    expect(scheduleError("*/-1 * * * *")).toBe("negative number (-1) not allowed: -1");
    expect(scheduleError("@fortnightly")).toBe("unrecognized descriptor: @fortnightly");
    expect(scheduleError("@every 1x")).toBe('failed to parse duration @every 1x: time: unknown unit "x" in duration "1x"');
    expect(scheduleError("@every 5")).toBe('failed to parse duration @every 5: time: missing unit in duration "5"');
    expect(scheduleError("TZ=Mars/Olympus 0 * * * *")).toBe("provided bad location Mars/Olympus: unknown time zone Mars/Olympus");
  });

  test("a field that allows nothing parses (as upstream) but has no pattern", () => {
    expect(parseSchedule("0 0 , * *")).toMatchObject({ kind: "cron", pattern: undefined });
  });
});

describe("parseGoDuration", () => {
  test("units and fractions", () => {
    expect(parseGoDuration("1h2m3s")).toBe(3723e9);
    expect(parseGoDuration(".5m")).toBe(30e9);
    expect(parseGoDuration("0")).toBe(0);
    expect(parseGoDuration("-1s")).toBe(-1e9);
    expect(() => parseGoDuration("")).toThrow('time: invalid duration ""');
    expect(() => parseGoDuration(".s")).toThrow('time: invalid duration ".s"');
  });
});

describe("isKnownTimeZone", () => {
  test("IANA names as spelled, aliases, UTC", () => {
    for (const z of ["Europe/Berlin", "America/Argentina/Buenos_Aires", "US/Eastern", "Etc/GMT+5", "UTC", "EST5EDT"]) expect(isKnownTimeZone(z)).toBe(true);
  });
  test("unknown names, other spellings and bare offsets are refused", () => {
    for (const z of ["Mars/Olympus", "europe/berlin", "+01:00", "+0100", "Factory"]) expect(isKnownTimeZone(z)).toBe(false);
  });
});
