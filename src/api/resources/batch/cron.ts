// The grammar of a CronJob's spec.schedule, as upstream reads it (robfig/cron's ParseStandard):
// five fields (minute, hour, day of month, month, day of week) with `*`, `?`, ranges, steps,
// lists and month/day names; the macros @yearly, @annually, @monthly, @weekly, @daily,
// @midnight and @hourly; `@every <duration>`; and a leading `TZ=<zone>` or `CRON_TZ=<zone>`.
// Errors carry upstream's wording, since `kubectl apply` shows them to the user as they are.
//
// Parsing is pure and cheap (validation calls it on every write). Computing run times in a time
// zone is the controller's (src/server/controllers/cronjob/schedule.ts), on the normalized
// pattern this returns, so both read a schedule the same way.

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTH_NAMES = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DAY_NAMES = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DAYS_OF_MONTH: Bounds = { min: 1, max: 31 };
const MONTHS: Bounds = { min: 1, max: 12, names: MONTH_NAMES };
const DAYS_OF_WEEK: Bounds = { min: 0, max: 6, names: DAY_NAMES };

/** One field: the values it allows, and whether it was written as `*` or `?` (which matters for days). */
export interface CronField {
  values: number[];
  star: boolean;
}

export interface CronFields {
  minute: CronField;
  hour: CronField;
  dayOfMonth: CronField;
  month: CronField;
  dayOfWeek: CronField;
}

export type ParsedSchedule =
  | {
      kind: "cron";
      fields: CronFields;
      /**
       * The same schedule as a plain five-field pattern: every field an explicit list, or `*`
       * exactly where the source had `*` or `?` (day of month and day of week combine with OR
       * when neither is `*`, as in Vixie cron), or undefined when a field allows no value at all.
       */
      pattern: string | undefined;
      /** The zone of a `TZ=` / `CRON_TZ=` prefix. */
      timeZone?: string;
    }
  | { kind: "every"; seconds: number; timeZone?: string };

export class ScheduleError extends Error {}

const fail = (message: string): never => {
  throw new ScheduleError(message);
};

/** Go's %q of a string, close enough for what users type. */
const goQuote = (s: string) => JSON.stringify(s);

/** Go's strconv.Atoi, with its error text. */
function atoi(expr: string): number {
  if (!/^[+-]?\d+$/.test(expr)) fail(`failed to parse int from ${expr}: strconv.Atoi: parsing ${goQuote(expr)}: invalid syntax`);
  const n = Number(expr);
  if (!Number.isSafeInteger(n) || Math.abs(n) > 2 ** 63 - 1)
    fail(`failed to parse int from ${expr}: strconv.Atoi: parsing ${goQuote(expr)}: value out of range`);
  return n;
}

function nonNegativeInt(expr: string): number {
  const n = atoi(expr);
  if (n < 0) fail(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

function intOrName(expr: string, names: Record<string, number> | undefined): number {
  const named = names?.[expr.toLowerCase()];
  return named ?? nonNegativeInt(expr);
}

/** One comma-separated part: `*`, `?`, `N`, `N-M`, each optionally `/step`. */
function parseRange(expr: string, b: Bounds, into: Set<number>): boolean {
  const rangeAndStep = expr.split("/");
  const lowAndHigh = rangeAndStep[0]!.split("-");
  let star = false;
  let start: number;
  let end: number;
  if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
    start = b.min;
    end = b.max;
    star = true;
  } else {
    start = intOrName(lowAndHigh[0]!, b.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = intOrName(lowAndHigh[1]!, b.names);
    else return fail(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = nonNegativeInt(rangeAndStep[1]!);
    if (lowAndHigh.length === 1) end = b.max; // "N/step" means "N-max/step"
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) fail(`too many slashes: ${expr}`);
  if (start < b.min) fail(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
  if (end > b.max) fail(`end of range (${end}) above maximum (${b.max}): ${expr}`);
  if (start > end) fail(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) fail(`step of range should be a positive number: ${expr}`);
  for (let v = start; v <= end; v += step) into.add(v);
  return star;
}

function parseField(field: string, b: Bounds): CronField {
  const values = new Set<number>();
  let star = false;
  for (const part of field.split(",")) if (part !== "" && parseRange(part, b, values)) star = true;
  return { values: [...values].sort((x, y) => x - y), star };
}

const all = (b: Bounds): CronField => ({ values: Array.from({ length: b.max - b.min + 1 }, (_, i) => b.min + i), star: true });
const only = (v: number): CronField => ({ values: [v], star: false });

/** The macros, as the fields they stand for. */
const MACROS: Record<string, () => CronFields> = {
  "@yearly": () => ({ minute: only(0), hour: only(0), dayOfMonth: only(1), month: only(1), dayOfWeek: all(DAYS_OF_WEEK) }),
  "@monthly": () => ({ minute: only(0), hour: only(0), dayOfMonth: only(1), month: all(MONTHS), dayOfWeek: all(DAYS_OF_WEEK) }),
  "@weekly": () => ({ minute: only(0), hour: only(0), dayOfMonth: all(DAYS_OF_MONTH), month: all(MONTHS), dayOfWeek: only(0) }),
  "@daily": () => ({ minute: only(0), hour: only(0), dayOfMonth: all(DAYS_OF_MONTH), month: all(MONTHS), dayOfWeek: all(DAYS_OF_WEEK) }),
  "@hourly": () => ({ minute: only(0), hour: all(HOURS), dayOfMonth: all(DAYS_OF_MONTH), month: all(MONTHS), dayOfWeek: all(DAYS_OF_WEEK) }),
};
MACROS["@annually"] = MACROS["@yearly"]!;
MACROS["@midnight"] = MACROS["@daily"]!;

const fieldPattern = (f: CronField) => (f.star ? "*" : f.values.join(","));

function cronSchedule(fields: CronFields, timeZone: string | undefined): ParsedSchedule {
  const list = [fields.minute, fields.hour, fields.dayOfMonth, fields.month, fields.dayOfWeek];
  const pattern = list.some((f) => f.values.length === 0) ? undefined : list.map(fieldPattern).join(" ");
  return { kind: "cron", fields, pattern, ...(timeZone !== undefined && { timeZone }) };
}

/** Parses a schedule as upstream does; throws ScheduleError with upstream's message. */
export function parseSchedule(spec: string): ParsedSchedule {
  if (spec.length === 0) fail("empty spec string");
  let timeZone: string | undefined;
  if (spec.startsWith("TZ=") || spec.startsWith("CRON_TZ=")) {
    const eq = spec.indexOf("=");
    const space = spec.indexOf(" ");
    const zone = space < 0 ? spec.slice(eq + 1) : spec.slice(eq + 1, space);
    if (!isKnownTimeZone(zone)) fail(`provided bad location ${zone}: unknown time zone ${zone}`);
    timeZone = zone;
    spec = space < 0 ? "" : spec.slice(space).trim();
  }
  if (spec.startsWith("@")) {
    const macro = MACROS[spec];
    if (macro) return cronSchedule(macro(), timeZone);
    if (spec.startsWith("@every ")) {
      const text = spec.slice("@every ".length);
      let ns: number;
      try {
        ns = parseGoDuration(text);
      } catch (e) {
        return fail(`failed to parse duration ${spec}: ${(e as Error).message}`);
      }
      // Under a second means every second; otherwise whole seconds, as upstream's Every().
      const seconds = ns < 1e9 ? 1 : Math.floor(ns / 1e9);
      return { kind: "every", seconds, ...(timeZone !== undefined && { timeZone }) };
    }
    fail(`unrecognized descriptor: ${spec}`);
  }
  const fields = spec.split(/\s+/).filter((f) => f !== "");
  if (fields.length !== 5) fail(`expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`);
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  return cronSchedule(
    {
      minute: parseField(minute, MINUTES),
      hour: parseField(hour, HOURS),
      dayOfMonth: parseField(dom, DAYS_OF_MONTH),
      month: parseField(month, MONTHS),
      dayOfWeek: parseField(dow, DAYS_OF_WEEK),
    },
    timeZone,
  );
}

/** The problem with a schedule in upstream's words, or undefined when it parses. */
export function scheduleError(spec: string): string | undefined {
  try {
    parseSchedule(spec);
    return undefined;
  } catch (e) {
    if (e instanceof ScheduleError) return e.message;
    throw e;
  }
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, "μs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds, with its error text. */
export function parseGoDuration(text: string): number {
  const invalid = () => new Error(`time: invalid duration ${goQuote(text)}`);
  let s = text;
  let negative = false;
  if (s.startsWith("-") || s.startsWith("+")) {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw invalid();
  let total = 0;
  while (s !== "") {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole, intPart = "", fracPart] = m;
    if (intPart === "" && (fracPart === undefined || fracPart === "")) throw invalid();
    s = s.slice(whole.length);
    const unit = /^[^\d.]*/.exec(s)![0];
    if (unit === "") throw new Error(`time: missing unit in duration ${goQuote(text)}`);
    const scale = UNIT_NS[unit];
    if (scale === undefined) throw new Error(`time: unknown unit ${goQuote(unit)} in duration ${goQuote(text)}`);
    s = s.slice(unit.length);
    total += Number(`${intPart || "0"}.${fracPart || "0"}`) * scale;
    if (total > 2 ** 63 - 1) throw invalid();
  }
  return negative ? -total : total;
}

/**
 * Whether Go's time.LoadLocation would find this zone in the IANA database: "UTC", "Local", or
 * a zone name spelled exactly as in the database (aliases such as US/Eastern included). The
 * runtime's ICU data stands in for the zoneinfo files; it is loaded on first use only.
 */
export function isKnownTimeZone(zone: string): boolean {
  if (zone === "" || zone === "UTC" || zone === "Local") return true;
  if (/^[+-]?\d/.test(zone)) return false; // a bare UTC offset is not a zone name
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone === zone;
  } catch {
    return false;
  }
}
