// Resource quantities ("250m", "1.5", "64Mi", "1G", "2e3"), as in k8s.io/apimachinery's
// resource.Quantity. Values are held exactly as a bigint count of nano-units, so "0.1" + "0.2"
// is exactly "300m" and canonical forms never pick up float noise; upstream also rounds anything
// finer than 1n up to 1n. The one parser of quantities in the program: it sits in api/ because
// resource validation needs it and api/ imports nothing above it.
import type { FieldError } from "./errors";
import { fieldInvalid } from "./validation";

export type QuantityFormat = "DecimalSI" | "BinarySI" | "DecimalExponent";

export interface Quantity {
  /** The amount in units of 1e-9 (1 CPU = 1e9, 1 byte = 1e9). */
  nano: bigint;
  /** How it was written, which decides how it is written back (upstream keeps the suffix family). */
  format: QuantityFormat;
}

/** Upstream's message for strings that are not quantities at all. */
export const QUANTITY_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

const DECIMAL_SUFFIX_EXP: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX_POW: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const EXP_SUFFIX: Record<number, string> = Object.fromEntries(Object.entries(DECIMAL_SUFFIX_EXP).map(([s, e]) => [e, s]));
const BINARY_SUFFIX: string[] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
/** Exponents beyond this are refused rather than turned into enormous bigints. */
const MAX_EXPONENT = 64;

const pow10 = (n: number) => 10n ** BigInt(n);
const NANO = pow10(9);

export class QuantityError extends Error {}

const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b; // a, b > 0

/** Parses a quantity, throwing QuantityError with upstream's wording when it is not one. */
export function parseQuantity(input: string | number): Quantity {
  const s = typeof input === "number" ? numberText(input) : input;
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(.*)$/.exec(s);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) throw new QuantityError(`quantities must match the regular expression '${QUANTITY_PATTERN}'`);
  const [, sign, whole, frac = "", suffix] = m;
  const digits = BigInt((whole || "0") + frac);
  let num = digits;
  let den = pow10(frac.length);
  let format: QuantityFormat;

  if (suffix in BINARY_SUFFIX_POW) {
    format = "BinarySI";
    num *= 1024n ** BigInt(BINARY_SUFFIX_POW[suffix]) * NANO;
  } else {
    let exp: number;
    if (suffix in DECIMAL_SUFFIX_EXP) {
      format = "DecimalSI";
      exp = DECIMAL_SUFFIX_EXP[suffix];
    } else if (/^[eE][+-]?\d+$/.test(suffix)) {
      format = "DecimalExponent";
      exp = Number(suffix.slice(1));
      if (Math.abs(exp) > MAX_EXPONENT) throw new QuantityError("quantity exponent is out of range");
    } else {
      throw new QuantityError("unable to parse quantity's suffix");
    }
    if (exp + 9 >= 0) num *= pow10(exp + 9);
    else den *= pow10(-(exp + 9));
  }
  const magnitude = num === 0n ? 0n : ceilDiv(num, den);
  return { nano: sign === "-" ? -magnitude : magnitude, format };
}

/** JSON numbers are quantities too; write them without float artefacts where possible. */
function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new QuantityError(`quantities must match the regular expression '${QUANTITY_PATTERN}'`);
  const t = String(n);
  return t.includes("e") ? t.replace("e+", "e") : t;
}

export function tryParseQuantity(input: unknown): Quantity | undefined {
  if (typeof input !== "string" && typeof input !== "number") return undefined;
  try {
    return parseQuantity(input);
  } catch {
    return undefined;
  }
}

/**
 * Canonical text, as upstream's String(): the largest suffix (exponent a multiple of 3, or a
 * power of 1024 for binary) that keeps the mantissa an integer. Binary quantities that are
 * fractional or smaller than 1024 in magnitude are written in decimal, like upstream.
 */
export function formatQuantity(q: Quantity): string {
  if (q.nano === 0n) return "0";
  const sign = q.nano < 0n ? "-" : "";
  const abs = q.nano < 0n ? -q.nano : q.nano;

  if (q.format === "BinarySI" && abs % NANO === 0n && abs >= 1024n * NANO) {
    let units = abs / NANO;
    let i = 0;
    while (i < BINARY_SUFFIX.length - 1 && units % 1024n === 0n) {
      units /= 1024n;
      i++;
    }
    return `${sign}${units}${BINARY_SUFFIX[i]}`;
  }

  // Decimal: the largest exponent e (a multiple of 3, at least -9) with abs divisible by
  // 10^(e+9); SI suffixes stop at E (1e18), plain exponents do not.
  const maxExp = q.format === "DecimalExponent" ? Infinity : 18;
  let exp = -9;
  let mantissa = abs;
  while (exp < maxExp && mantissa % 1000n === 0n) {
    mantissa /= 1000n;
    exp += 3;
  }
  if (q.format === "DecimalExponent") return `${sign}${mantissa}${exp === 0 ? "" : `e${exp}`}`;
  return `${sign}${mantissa}${EXP_SUFFIX[exp]}`;
}

export const canonicalQuantity = (input: string | number): string => formatQuantity(parseQuantity(input));

/** The value in whole base units, rounded up (upstream's Value(): bytes, whole CPUs). */
export const quantityValue = (q: Quantity): number => Number(q.nano >= 0n ? ceilDiv(q.nano, NANO) : q.nano / NANO);

/** The value in thousandths, rounded up (upstream's MilliValue(): millicores). */
export const quantityMilli = (q: Quantity): number => Number(q.nano >= 0n ? ceilDiv(q.nano, pow10(6)) : q.nano / pow10(6));

/** The value as a float in base units, for ratios and display. */
export const quantityNumber = (q: Quantity): number => Number(q.nano) / 1e9;

/** CPU in millicores; absent means 0. Throws QuantityError on malformed input. */
export const cpuMillis = (v: string | number | undefined | null): number => (v === undefined || v === null ? 0 : quantityMilli(parseQuantity(v)));

/** Memory (or storage) in bytes; absent means 0. Throws QuantityError on malformed input. */
export const memoryBytes = (v: string | number | undefined | null): number => (v === undefined || v === null ? 0 : quantityValue(parseQuantity(v)));

export const compareQuantities = (a: Quantity, b: Quantity): -1 | 0 | 1 => (a.nano < b.nano ? -1 : a.nano > b.nano ? 1 : 0);

/** Sum keeping the first operand's format (as upstream's Add does). */
export const addQuantities = (a: Quantity, b: Quantity): Quantity => ({ nano: a.nano + b.nano, format: a.format });

/** A field holding a quantity: reports malformed values at `path`, upstream-style. */
export function validateQuantity(v: unknown, path: string): FieldError[] {
  if (typeof v !== "string" && typeof v !== "number") return [fieldInvalid(path, v, `quantities must match the regular expression '${QUANTITY_PATTERN}'`)];
  try {
    parseQuantity(v);
    return [];
  } catch (e) {
    return [fieldInvalid(path, v, (e as Error).message)];
  }
}

/** Requests and limits: a quantity that must not be negative. */
export function validateNonNegativeQuantity(v: unknown, path: string): FieldError[] {
  const errs = validateQuantity(v, path);
  if (errs.length) return errs;
  return parseQuantity(v as string | number).nano < 0n ? [fieldInvalid(path, v, "must be greater than or equal to 0")] : [];
}
