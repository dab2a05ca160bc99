// Eviction thresholds as upstream's kubelet takes them: --eviction-hard / --eviction-soft
// ("memory.available<100Mi,nodefs.available<10%"), --eviction-soft-grace-period and
// --eviction-minimum-reclaim ("signal=value,..."), parsed with kubelet's rules and wording
// (pkg/kubelet/eviction/helpers.go ParseThresholdConfig). Pure: the agent's flags call it, and
// so do the tests.
import { parseQuantity, quantityValue, QuantityError } from "../../api/quantity";

/** The signals bramble measures (upstream's names; the ones it does not measure are refused). */
export const SIGNALS = ["memory.available", "nodefs.available", "nodefs.inodesFree", "imagefs.available", "imagefs.inodesFree", "pid.available"] as const;
export type Signal = (typeof SIGNALS)[number];

/** Valid upstream signals that need features bramble lacks (node-allocatable cgroups, a split image filesystem). */
const UNMEASURED = ["allocatableMemory.available", "containerfs.available", "containerfs.inodesFree"];

/** An amount: absolute (bytes, inodes, pids) or a fraction of capacity (0 < f ≤ 1). */
export type Amount = { quantity: number } | { percentage: number };

export interface Threshold {
  signal: Signal;
  /** Met when the signal's available amount is below this. */
  value: Amount;
  /** Soft thresholds only: how long it must be met before pods are evicted (ms). Hard: 0. */
  gracePeriodMs: number;
  /** Once met, pressure holds until available ≥ value + minReclaim. */
  minReclaim?: Amount;
  /** The text as given ("100Mi", "10%"), for messages. */
  text: string;
}

export interface EvictionConfig {
  thresholds: Threshold[];
  /** --eviction-pressure-transition-period: how long a pressure condition outlives its cause (ms). */
  pressureTransitionPeriodMs: number;
}

/** Upstream's defaults on Linux (pkg/kubelet/apis/config/v1beta1/defaults_linux.go). */
export const DEFAULT_EVICTION_HARD = "memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%";
export const DEFAULT_PRESSURE_TRANSITION_PERIOD_MS = 5 * 60_000;

/** A bad flag value; `flag` names the kubelet flag it came from. */
export class ThresholdError extends Error {
  constructor(
    message: string,
    readonly flag = "eviction-hard",
  ) {
    super(message);
  }
}

export interface EvictionFlags {
  hard?: string;
  soft?: string;
  softGracePeriod?: string;
  minimumReclaim?: string;
  /** Already in ms (the CLI parses durations). */
  pressureTransitionPeriodMs?: number;
}

/**
 * Every threshold from the flags. --eviction-hard replaces the defaults as a whole, as kubelet's
 * map flag does: a signal left out has no hard threshold, and "<0%" or "<100%" switches one off.
 */
export function parseEvictionConfig(flags: EvictionFlags): EvictionConfig {
  const hard = withFlag("eviction-hard", () => parseStatements(flags.hard ?? DEFAULT_EVICTION_HARD));
  const soft = withFlag("eviction-soft", () => parseStatements(flags.soft ?? ""));
  const grace = withFlag("eviction-soft-grace-period", () => parsePairs(flags.softGracePeriod ?? "", (signal, v) => {
    const ms = goDurationMs(v);
    if (ms === undefined) throw new ThresholdError(`time: invalid duration "${v}"`);
    if (ms < 0) throw new ThresholdError(`invalid eviction grace period specified: ${v}, must be a positive value`);
    return ms;
  }));
  const reclaim = withFlag("eviction-minimum-reclaim", () => parsePairs(flags.minimumReclaim ?? "", (signal, v) => parseAmount(signal, v, "minimum reclaim") ?? { quantity: 0 }));
  for (const t of soft) {
    const g = grace.get(t.signal);
    if (g === undefined) throw new ThresholdError(`grace period must be specified for the soft eviction threshold ${t.signal}`, "eviction-soft-grace-period");
    t.gracePeriodMs = g;
  }
  const all = [...hard, ...soft];
  for (const t of all) {
    const r = reclaim.get(t.signal);
    if (r) t.minReclaim = r;
  }
  return { thresholds: all, pressureTransitionPeriodMs: flags.pressureTransitionPeriodMs ?? DEFAULT_PRESSURE_TRANSITION_PERIOD_MS };
}

function withFlag<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof ThresholdError) throw new ThresholdError(e.message, flag);
    throw e;
  }
}

/** "a<b,c<d" (kubelet's LangleSeparatedMapStringString), one threshold per signal. */
function parseStatements(text: string): Threshold[] {
  const out: Threshold[] = [];
  const seen = new Set<string>();
  for (const pair of splitList(text)) {
    const lt = pair.indexOf("<");
    if (lt < 0) throw new ThresholdError(`malformed pair, expect string<string: "${pair}"`);
    const signal = checkSignal(pair.slice(0, lt).trim());
    const value = pair.slice(lt + 1).trim();
    if (seen.has(signal)) throw new ThresholdError(`duplicate eviction threshold for ${signal}`);
    seen.add(signal);
    const amount = parseAmount(signal, value, "threshold");
    // 0% and 100% switch the signal off, as upstream.
    if (amount) out.push({ signal, value: amount, gracePeriodMs: 0, text: value });
  }
  return out;
}

/** "signal=value,..." (kubelet's MapStringString), values checked by `parse`. */
function parsePairs<T>(text: string, parse: (signal: Signal, value: string) => T): Map<Signal, T> {
  const out = new Map<Signal, T>();
  for (const pair of splitList(text)) {
    const eq = pair.indexOf("=");
    if (eq < 0) throw new ThresholdError(`malformed pair, expect string=string: "${pair}"`);
    const signal = checkSignal(pair.slice(0, eq).trim());
    if (out.has(signal)) throw new ThresholdError(`duplicate value for ${signal}`);
    out.set(signal, parse(signal, pair.slice(eq + 1).trim()));
  }
  return out;
}

const splitList = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

function checkSignal(name: string): Signal {
  if ((SIGNALS as readonly string[]).includes(name)) return name as Signal;
  if (UNMEASURED.includes(name)) throw new ThresholdError(`eviction signal ${name} is not supported by bramble (supported: ${SIGNALS.join(", ")})`);
  throw new ThresholdError(`unsupported eviction signal ${name}`);
}

/** A percentage or a positive quantity; undefined for 0% / 100% (switched off). */
function parseAmount(signal: Signal, value: string, what: "threshold" | "minimum reclaim"): Amount | undefined {
  if (value.endsWith("%")) {
    if (what === "threshold" && (value === "0%" || value === "100%")) return undefined;
    const body = value.slice(0, -1);
    const pct = /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(body) ? Number(body) / 100 : NaN;
    if (Number.isNaN(pct)) throw new ThresholdError(`invalid percentage ${value} for ${signal}`);
    if (pct < 0) throw new ThresholdError(`eviction percentage ${what} ${signal} must be >= 0%: ${value}`);
    if (pct > 1) throw new ThresholdError(`eviction percentage ${what} ${signal} must be <= 100%: ${value}`);
    return { percentage: pct };
  }
  let n: number;
  try {
    n = quantityValue(parseQuantity(value));
  } catch (e) {
    if (e instanceof QuantityError) throw new ThresholdError(`${signal}: "${value}" is not a quantity or a percentage (${e.message})`);
    throw e;
  }
  if (what === "threshold" && n <= 0) throw new ThresholdError(`eviction threshold ${signal} must be positive: ${value}`);
  if (n < 0) throw new ThresholdError(`negative eviction minimum reclaim specified for ${signal}`);
  return { quantity: n };
}

/** Go's time.ParseDuration for the units a grace period uses; undefined when it is not one. */
export function goDurationMs(text: string): number | undefined {
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (text === "0") return 0;
  const m = /^([+-]?)(.+)$/.exec(text)!;
  const parts = [...m[2]!.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== m[2]) return undefined;
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]!]!, 0);
  return m[1] === "-" ? -ms : ms;
}

/** The amount in absolute units for a capacity (truncated, as upstream's GetThresholdQuantity). */
export const amountOf = (a: Amount, capacity: number): number => ("quantity" in a ? a.quantity : Math.floor(a.percentage * capacity));
