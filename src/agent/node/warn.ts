// Warnings that can come from a thousand nodes at once (the API server went away): one line per
// 10 s at most, with a count of what was left out, instead of a thousand lines.
import type { LogFields, Logger } from "../../machinery/log";

export function throttledWarn(log: Logger, everyMs = 10_000) {
  let last = -Infinity;
  let suppressed = 0;
  return (msg: string, fields: LogFields, e: unknown) => {
    const t = Date.now();
    if (t - last < everyMs) {
      suppressed++;
      return;
    }
    log.warn(msg, { ...fields, error: e instanceof Error ? e.message : String(e), ...(suppressed ? { similarWarningsSinceLast: suppressed } : {}) });
    last = t;
    suppressed = 0;
  };
}
