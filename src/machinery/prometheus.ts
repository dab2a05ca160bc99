// A tiny Prometheus registry: counters, gauges and fixed-bucket histograms with labels, rendered
// in the text exposition format 0.0.4. Updating a series is a Map lookup and a few number
// writes; nothing is allocated on the hot path beyond the label key string. One registry per
// process (`metrics`): the server's and the agent's /metrics both render it.

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Kind = "counter" | "gauge" | "histogram";

/** Label values are joined with this (a control character no sane label value carries). */
const SEP = "\u0001";

/** The key of a series: its label values joined (what the *ByKey methods take). */
export const seriesKey = (values: readonly string[]): string => (values.length === 1 ? values[0]! : values.join(SEP));
/** A key with one more label value appended (a counter's code after a histogram's labels). */
export const extendKey = (key: string, value: string): string => key + SEP + value;

/** Label-value escaping of the text format: backslash, double quote and newline. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : v;
}

/** HELP text escaping: backslash and newline. */
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

/** Go's strconv formatting as Prometheus clients write it: +Inf, -Inf, NaN, integers without a point. */
export function formatValue(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

abstract class Family {
  abstract readonly kind: Kind;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name ${name}`);
    for (const l of labelNames) if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l) || l.startsWith("__")) throw new Error(`invalid label name ${l}`);
  }

  protected key(values: readonly string[]): string {
    if (values.length !== this.labelNames.length) throw new Error(`${this.name}: expected ${this.labelNames.length} label values, got ${values.length}`);
    return seriesKey(values);
  }

  /** `{a="x",b="y"}` for a series key (extra appends further pairs, such as le). */
  protected labels(key: string, extra?: string): string {
    if (!this.labelNames.length) return extra ? `{${extra}}` : "";
    const values = this.labelNames.length === 1 ? [key] : key.split(SEP);
    const pairs = this.labelNames.map((n, i) => `${n}="${escapeLabelValue(values[i]!)}"`);
    if (extra) pairs.push(extra);
    return `{${pairs.join(",")}}`;
  }

  header(): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.kind}\n`;
  }

  abstract render(): string;
}

/** A monotonically increasing number per label set. */
export class Counter extends Family {
  readonly kind = "counter";
  private readonly series = new Map<string, Cell>();
  /** For a collector that reads a total kept elsewhere (CPU time): sets it before each render. */
  collect?: (c: Counter) => void;

  private cell(key: string): Cell {
    let c = this.series.get(key);
    if (!c) this.series.set(key, (c = { v: 0 }));
    return c;
  }

  inc(values: readonly string[] = [], by = 1) {
    this.cell(this.key(values)).v += by;
  }

  /** inc() for a key made by seriesKey (the caller vouches for the label count). */
  incByKey(key: string, by = 1) {
    this.cell(key).v += by;
  }

  /** The series for these label values, held: each inc() is one addition (client_golang's WithLabelValues). */
  child(values: readonly string[] = []): { inc(by?: number): void } {
    const c = this.cell(this.key(values));
    return { inc: (by = 1) => void (c.v += by) };
  }

  get(values: readonly string[] = []): number {
    return this.series.get(this.key(values))?.v ?? 0;
  }

  setTotal(values: readonly string[], v: number) {
    this.cell(this.key(values)).v = v;
  }

  render(): string {
    this.collect?.(this);
    let out = "";
    for (const [k, c] of this.series) out += `${this.name}${this.labels(k)} ${formatValue(c.v)}\n`;
    return out;
  }
}

interface Cell {
  v: number;
}

/** A number that goes up and down; `collect` (if given) sets it just before each render. */
export class Gauge extends Family {
  readonly kind = "gauge";
  private readonly series = new Map<string, Cell>();
  collect?: (g: Gauge) => void;

  private cell(key: string): Cell {
    let c = this.series.get(key);
    if (!c) this.series.set(key, (c = { v: 0 }));
    return c;
  }

  set(values: readonly string[], v: number) {
    this.cell(this.key(values)).v = v;
  }

  inc(values: readonly string[] = [], by = 1) {
    this.cell(this.key(values)).v += by;
  }

  dec(values: readonly string[] = [], by = 1) {
    this.inc(values, -by);
  }

  /** The series for these label values, held (see Counter.child). */
  child(values: readonly string[] = []): { set(v: number): void; inc(by?: number): void; dec(by?: number): void } {
    const c = this.cell(this.key(values));
    return { set: (v) => void (c.v = v), inc: (by = 1) => void (c.v += by), dec: (by = 1) => void (c.v -= by) };
  }

  get(values: readonly string[] = []): number {
    return this.series.get(this.key(values))?.v ?? 0;
  }

  /** Forgets every series (a collector that sets the whole picture anew). */
  reset() {
    this.series.clear();
  }

  render(): string {
    this.collect?.(this);
    let out = "";
    for (const [k, c] of this.series) out += `${this.name}${this.labels(k)} ${formatValue(c.v)}\n`;
    return out;
  }
}

interface HistogramSeries {
  /** Non-cumulative: counts[i] observations fell in (bounds[i-1], bounds[i]]; the last is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** Observations counted into fixed buckets (upper bounds, ascending), with their sum and count. */
export class Histogram extends Family {
  readonly kind = "histogram";
  private readonly series = new Map<string, HistogramSeries>();
  readonly buckets: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    if (labelNames.includes("le")) throw new Error(`${name}: "le" is reserved for buckets`);
    for (let i = 1; i < buckets.length; i++) if (!(buckets[i]! > buckets[i - 1]!)) throw new Error(`${name}: buckets must increase`);
    this.buckets = buckets.filter((b) => b !== Infinity);
  }

  private cell(key: string): HistogramSeries {
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 }));
    return s;
  }

  private add(s: HistogramSeries, v: number) {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    s.counts[i]!++;
    s.sum += v;
    s.count++;
  }

  observe(values: readonly string[], v: number) {
    this.add(this.cell(this.key(values)), v);
  }

  /** observe() for a key made by seriesKey (the caller vouches for the label count). */
  observeByKey(key: string, v: number) {
    this.add(this.cell(key), v);
  }

  /** Observes the seconds elapsed since `startMs` (a performance.now() reading). */
  observeSince(values: readonly string[], startMs: number) {
    this.observe(values, (performance.now() - startMs) / 1000);
  }

  /** The series for these label values, held (see Counter.child). */
  child(values: readonly string[] = []): { observe(v: number): void } {
    const s = this.cell(this.key(values));
    return { observe: (v) => this.add(s, v) };
  }

  count(values: readonly string[] = []): number {
    return this.series.get(this.key(values))?.count ?? 0;
  }

  render(): string {
    let out = "";
    for (const [k, s] of this.series) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += s.counts[i]!;
        const le = i < this.buckets.length ? formatValue(this.buckets[i]!) : "+Inf";
        out += `${this.name}_bucket${this.labels(k, `le="${le}"`)} ${cumulative}\n`;
      }
      out += `${this.name}_sum${this.labels(k)} ${formatValue(s.sum)}\n`;
      out += `${this.name}_count${this.labels(k)} ${s.count}\n`;
    }
    return out;
  }
}

/** `count` buckets from `start`, each `factor` times the one before (client_golang's ExponentialBuckets). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0, b = start; i < count; i++, b *= factor) out.push(Number(b.toPrecision(12)));
  return out;
}

export class Registry {
  private readonly families = new Map<string, Family>();

  private add<F extends Family>(f: F): F {
    const existing = this.families.get(f.name);
    if (existing) {
      // Registered again by a second instance of a component (tests, an embedded agent): share it.
      if (existing.kind !== f.kind || existing.labelNames.join() !== f.labelNames.join()) throw new Error(`metric ${f.name} registered twice with different shapes`);
      return existing as F;
    }
    this.families.set(f.name, f);
    return f;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** Every family in the text exposition format, in registration order. */
  render(): string {
    let out = "";
    for (const f of this.families.values()) out += f.header() + f.render();
    return out;
  }
}

/** The process's registry. */
export const metrics = new Registry();

const startTimeSeconds = Math.floor((Date.now() - performance.now()) / 1000);

/** process_* metrics as client_golang's process collector names them (read at scrape time). */
function registerProcessMetrics(r: Registry) {
  r.gauge("process_resident_memory_bytes", "Resident memory size in bytes.").collect = (g) => g.set([], process.memoryUsage.rss());
  r.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.").collect = (c) => {
    const u = process.cpuUsage();
    c.setTotal([], (u.user + u.system) / 1e6);
  };
  r.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.").set([], startTimeSeconds);
}
registerProcessMetrics(metrics);

/** A Response carrying the registry's exposition. */
export function metricsResponse(r: Registry = metrics): Response {
  return new Response(r.render(), { headers: { "content-type": EXPOSITION_CONTENT_TYPE } });
}
