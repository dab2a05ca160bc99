// A tiny leveled logger with klog-style one-line output, so bramble's logs read like the
// Kubernetes components people already grep:
//
//   I1125 12:30:01.123456 apiserver] listening url="https://10.0.0.5:6443"
//
// Level comes from BRAMBLE_LOG_LEVEL (error|warn|info|debug, default info). Everything goes to
// stderr: stdout stays free for command output (`bramble version`, later `bramble get`).

export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const LETTER: Record<LogLevel, string> = { debug: "D", info: "I", warn: "W", error: "E" };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines are tagged with a sub-component ("server.pki"). */
  child(component: string): Logger;
}

export function parseLogLevel(s: string | undefined): LogLevel {
  const v = (s ?? "").trim().toLowerCase();
  if (v === "warning") return "warn";
  return v in RANK ? (v as LogLevel) : "info";
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** klog header: Lmmdd hh:mm:ss.uuuuuu (local time, microseconds padded from ms). */
export function formatHeader(level: LogLevel, d: Date): string {
  return `${LETTER[level]}${pad(d.getMonth() + 1)}${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}000`;
}

function formatValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === "string") return /^[\w./:@-]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v == null) return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return JSON.stringify(String(v));
  }
}

export function formatLine(level: LogLevel, component: string, msg: string, fields: LogFields | undefined, now: Date): string {
  let line = `${formatHeader(level, now)} ${component}] ${msg}`;
  if (fields) for (const [k, v] of Object.entries(fields)) line += ` ${k}=${formatValue(v)}`;
  // One event, one line: a multi-line message would break grep and log shippers.
  return line.replace(/\r?\n/g, "\\n");
}

export interface LoggerOptions {
  level?: LogLevel;
  write?: (line: string) => void;
  now?: () => Date;
}

export function createLogger(component: string, opts: LoggerOptions = {}): Logger {
  const min = RANK[opts.level ?? parseLogLevel(process.env.BRAMBLE_LOG_LEVEL)];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const now = opts.now ?? (() => new Date());
  const emit = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    if (RANK[level] >= min) write(formatLine(level, component, msg, fields, now()));
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (sub) => createLogger(`${component}.${sub}`, opts),
  };
}

/** The default logger; components take `log.child("name")`. */
export const log: Logger = createLogger("bramble");
