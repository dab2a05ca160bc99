// The simple JSONPath of printer columns and scale paths: `.spec.replicas`, `.items[0]`,
// `.metadata.labels['app']`, `.status.conditions[?(@.type=="Ready")].status`, `[*]`.

type Step = { field: string } | { index: number } | { all: true } | { filter: { path: string[]; value: string } };

function parse(path: string): Step[] {
  let p = path.trim();
  if (p.startsWith("{") && p.endsWith("}")) p = p.slice(1, -1);
  if (p.startsWith("$")) p = p.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < p.length) {
    if (p[i] === ".") {
      i++;
      let j = i;
      while (j < p.length && p[j] !== "." && p[j] !== "[") j++;
      if (j > i) steps.push({ field: p.slice(i, j) });
      i = j;
    } else if (p[i] === "[") {
      const end = p.indexOf("]", p.startsWith("[?(", i) ? p.indexOf(")", i) : i);
      if (end < 0) return steps;
      const inner = p.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === "*") steps.push({ all: true });
      else if (/^-?\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else if (/^['"].*['"]$/.test(inner)) steps.push({ field: inner.slice(1, -1) });
      else {
        const m = /^\?\(@((?:\.[^.=\s]+)+)\s*==\s*['"]?([^'"]*)['"]?\)$/.exec(inner);
        if (m) steps.push({ filter: { path: m[1]!.slice(1).split("."), value: m[2]! } });
      }
    } else {
      let j = i;
      while (j < p.length && p[j] !== "." && p[j] !== "[") j++;
      steps.push({ field: p.slice(i, j) });
      i = j;
    }
  }
  return steps;
}

const child = (v: unknown, k: string) => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined);

/** Every value the path selects (none when it leads nowhere). */
export function evalJsonPath(obj: unknown, path: string): unknown[] {
  let current: unknown[] = [obj];
  for (const step of parse(path)) {
    const next: unknown[] = [];
    for (const v of current) {
      if ("field" in step) {
        const c = child(v, step.field);
        if (c !== undefined) next.push(c);
      } else if ("index" in step) {
        if (Array.isArray(v)) {
          const c = v[step.index < 0 ? v.length + step.index : step.index];
          if (c !== undefined) next.push(c);
        }
      } else if ("all" in step) {
        if (Array.isArray(v)) next.push(...v);
        else if (typeof v === "object" && v !== null) next.push(...Object.values(v));
      } else if (Array.isArray(v)) {
        for (const item of v) {
          const got = step.filter.path.reduce<unknown>((x, k) => child(x, k), item);
          if (got !== undefined && String(got) === step.filter.value) next.push(item);
        }
      }
    }
    current = next;
  }
  return current;
}

/** The value at a dotted path (".spec.replicas"). */
export const getPath = (obj: unknown, path: string): unknown => path.split(".").filter(Boolean).reduce<unknown>((x, k) => child(x, k), obj);

/** Sets the value at a dotted path, making the objects on the way. */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".").filter(Boolean);
  let o = obj;
  for (const k of parts.slice(0, -1)) {
    if (typeof o[k] !== "object" || o[k] === null || Array.isArray(o[k])) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[parts[parts.length - 1]!] = value;
}
