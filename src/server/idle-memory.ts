// Gives memory back once a burst of work is over. After a burst (10,000 creates, a rollout) the
// process keeps what the work left behind: compiled code of paths that ran once, and GC blocks and
// allocator pages that a routine collection does not return. When the server has been quiet for a
// while after enough work, one release drops compiled code (recompiled on next use), runs a full
// collection and returns free pages to the OS: ~20 MB of RSS after the memory benchmark's 10,000
// objects. Busy servers are never interrupted: nothing runs until they go quiet. The price is paid
// by the next burst, which starts with cold code.
import { createLogger } from "../machinery/log";

const log = createLogger("memory");

export interface IdleMemoryOptions {
  /** How often activity is sampled. */
  tickMs?: number;
  /** A tick counts as quiet when the process used less CPU than this fraction of it. */
  quietCpuFraction?: number;
  /** Consecutive quiet ticks before a release. */
  quietTicks?: number;
  /** CPU time (ms) spent in busy ticks since the last release that makes another one worthwhile. */
  busyCpuMs?: number;
  /** Process CPU time in ms (user + system). */
  cpuMs?: () => number;
  /** Drops compiled code and collects; the second step a few seconds later returns what the first freed. */
  release?: () => void;
  collect?: () => void;
  /** Delay between release and collect. */
  collectDelayMs?: number;
}

export interface IdleMemory {
  /** One sample (what the timer calls); exported for tests. Returns true when it released. */
  tick(): boolean;
  stop(): void;
}

const processCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const releaseCode = () => {
  // Bun.shrink: when the VM is next idle, drop compiled code, collect in full, release free pages.
  const shrink = (Bun as { shrink?: () => void }).shrink;
  if (typeof shrink === "function") shrink();
  else Bun.gc(true);
};

export function startIdleMemoryRelease(opts: IdleMemoryOptions = {}): IdleMemory {
  const tickMs = opts.tickMs ?? 10_000;
  const quietCpuMs = tickMs * (opts.quietCpuFraction ?? 0.05);
  const quietTicks = opts.quietTicks ?? 2;
  const busyCpuMs = opts.busyCpuMs ?? 2_000;
  const cpuMs = opts.cpuMs ?? processCpuMs;
  const release = opts.release ?? releaseCode;
  const collect = opts.collect ?? (() => Bun.gc(true));
  const collectDelayMs = opts.collectDelayMs ?? 3_000;

  // Start-up itself is not counted: its code is mostly the request path the first burst needs,
  // which would otherwise start cold (~10% fewer creates/s in that burst).
  let last = cpuMs();
  let busySinceRelease = 0;
  let quiet = 0;
  let followUp: ReturnType<typeof setTimeout> | undefined;

  const tick = () => {
    const now = cpuMs();
    const used = now - last;
    last = now;
    // Only busy ticks count: the steady trickle of an idle cluster (leases, status) never adds up to a release.
    if (used < quietCpuMs) quiet++;
    else {
      quiet = 0;
      busySinceRelease += used;
    }
    if (quiet < quietTicks || busySinceRelease < busyCpuMs) return false;
    log.debug("quiet after a burst: releasing compiled code and free memory", { busyCpuMs: Math.round(busySinceRelease) });
    release();
    followUp = setTimeout(() => {
      collect();
      // The release's own work is not activity.
      last = cpuMs();
    }, collectDelayMs);
    followUp.unref?.();
    busySinceRelease = 0;
    quiet = 0;
    last = cpuMs();
    return true;
  };

  const timer = setInterval(tick, tickMs);
  timer.unref?.();
  return {
    tick,
    stop() {
      clearInterval(timer);
      if (followUp) clearTimeout(followUp);
    },
  };
}
