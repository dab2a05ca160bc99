// Resource lists (resource name → quantity) and the arithmetic quota needs on them, as
// upstream's quota/v1 helpers: add, subtract, mask to a set of names, compare against hard
// limits, and print as `cpu=1,pods=2` for error messages.
import { formatQuantity, tryParseQuantity, type Quantity } from "../../api/quantity";

export type ResourceList = Map<string, Quantity>;

/** A stored map of quantities; values that do not parse are left out (validation refuses them). */
export function parseResourceList(m: Record<string, string | number> | undefined): ResourceList {
  const out: ResourceList = new Map();
  for (const [k, v] of Object.entries(m ?? {})) {
    const q = tryParseQuantity(v);
    if (q) out.set(k, q);
  }
  return out;
}

export function toRecord(list: ResourceList): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [...list.keys()].sort()) out[k] = formatQuantity(list.get(k)!);
  return out;
}

const ZERO: Quantity = { nano: 0n, format: "DecimalSI" };

/** Sum per name; the first operand's format wins, as upstream's Add. */
export function add(a: ResourceList, b: ResourceList): ResourceList {
  const out = new Map(a);
  for (const [k, v] of b) {
    const cur = out.get(k);
    out.set(k, cur ? { nano: cur.nano + v.nano, format: cur.format } : v);
  }
  return out;
}

/** a - b per name of a, never below zero (SubtractWithNonNegativeResult). */
export function subtractNonNegative(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = new Map();
  for (const [k, v] of a) {
    const d = v.nano - (b.get(k)?.nano ?? 0n);
    out.set(k, { nano: d > 0n ? d : 0n, format: v.format });
  }
  return out;
}

/** Only the named entries. */
export function mask(list: ResourceList, names: Iterable<string>): ResourceList {
  const out: ResourceList = new Map();
  for (const n of names) {
    const v = list.get(n);
    if (v) out.set(n, v);
  }
  return out;
}

export const removeZeros = (list: ResourceList): ResourceList => new Map([...list].filter(([, v]) => v.nano !== 0n));

export const negativeNames = (list: ResourceList): string[] => [...list].filter(([, v]) => v.nano < 0n).map(([k]) => k).sort();

/** Whether every entry of a is within b (names missing from b are not limited); the names over. */
export function lessThanOrEqual(a: ResourceList, b: ResourceList): { ok: boolean; exceeded: string[] } {
  const exceeded: string[] = [];
  for (const [k, v] of a) {
    const limit = b.get(k);
    if (limit && v.nano > limit.nano) exceeded.push(k);
  }
  return { ok: exceeded.length === 0, exceeded };
}

export function equal(a: ResourceList, b: ResourceList): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k)?.nano !== v.nano) return false;
  return true;
}

/** `name=quantity` pairs sorted by name, comma-separated (upstream's prettyPrint). */
export const prettyPrint = (list: ResourceList): string =>
  [...list.keys()].sort().map((k) => `${k}=${formatQuantity(list.get(k)!)}`).join(",");

export const prettyPrintNames = (names: Iterable<string>): string => [...names].sort().join(",");

export const quantityOf = (list: ResourceList, name: string): Quantity => list.get(name) ?? ZERO;
