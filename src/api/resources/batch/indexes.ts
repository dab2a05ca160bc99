// The text form upstream uses for sets of completion indexes (status.completedIndexes,
// status.failedIndexes, successPolicy succeededIndexes): increasing decimal numbers separated by
// commas, runs of three or more written "first-last", e.g. "1,3-5,7". Intervals are kept as
// intervals: "0-2000000000" is a short string, and must not become two billion numbers.

export type Interval = [first: number, last: number];

/** Parses an index list: its intervals and how many indexes they hold, or why it is malformed. */
export function parseIndexes(text: string, completions?: number): { intervals: Interval[]; total: number } | { error: string } {
  const intervals: Interval[] = [];
  let total = 0;
  if (text === "") return { intervals, total };
  let last = -1;
  for (const part of text.split(",")) {
    const m = /^(\d{1,10})(?:-(\d{1,10}))?$/.exec(part);
    if (!m) return { error: `cannot convert string to integer for index: "${part}"` };
    const first = Number(m[1]);
    const end = m[2] === undefined ? first : Number(m[2]);
    if (end < first) return { error: `the first index of an interval must not be greater than its last index: "${part}"` };
    if (first <= last) return { error: "items must be sorted" };
    if (completions !== undefined && end >= completions) return { error: `too large index: "${part}"` };
    intervals.push([first, end]);
    total += end - first + 1;
    last = end;
  }
  return { intervals, total };
}

/** Whether `ix` lies in one of the (sorted) intervals. */
export function inIntervals(intervals: Interval[], ix: number): boolean {
  let lo = 0;
  let hi = intervals.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [first, last] = intervals[mid]!;
    if (ix < first) hi = mid - 1;
    else if (ix > last) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Formats indexes (any order, duplicates allowed) in upstream's compressed form. */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    const len = j - i + 1;
    if (len >= 3) parts.push(`${sorted[i]}-${sorted[j]}`);
    else for (let k = i; k <= j; k++) parts.push(String(sorted[k]));
    i = j + 1;
  }
  return parts.join(",");
}

/** The indexes below `limit` of a list (malformed parts are skipped, as upstream's controller does). */
export function indexesOf(text: string | undefined, limit: number): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? "").split(",")) {
    const m = /^(\d{1,10})(?:-(\d{1,10}))?$/.exec(part);
    if (!m) continue;
    const first = Number(m[1]);
    const end = Math.min(m[2] === undefined ? first : Number(m[2]), limit - 1);
    for (let i = first; i <= end; i++) out.add(i);
  }
  return out;
}
