// The text form upstream uses for sets of completion indexes (status.completedIndexes,
// status.failedIndexes, successPolicy succeededIndexes): increasing decimal numbers separated by
// commas, runs of three or more written "first-last", e.g. "1,3-5,7".

/** Parses an index list; `undefined` with a reason when it is malformed, out of order or out of range. */
export function parseIndexes(text: string, completions?: number): { indexes: number[] } | { error: string } {
  const indexes: number[] = [];
  if (text === "") return { indexes };
  let last = -1;
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return { error: `cannot convert string to integer for index: "${part}"` };
    const first = Number(m[1]);
    const end = m[2] === undefined ? first : Number(m[2]);
    if (end < first) return { error: `the first index of an interval must not be greater than its last index: "${part}"` };
    if (first <= last) return { error: "items must be sorted" };
    if (completions !== undefined && end >= completions)
      return { error: `too large index: "${part}"` };
    for (let i = first; i <= end; i++) indexes.push(i);
    last = end;
  }
  return { indexes };
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

/** The indexes of a well-formed list (malformed parts are skipped, as upstream's controller does). */
export function indexesOf(text: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? "").split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    const first = Number(m[1]);
    const end = m[2] === undefined ? first : Number(m[2]);
    for (let i = first; i <= end && i - first < 1_000_000; i++) out.add(i);
  }
  return out;
}
