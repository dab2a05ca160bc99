// The one polling helper of the cross-process tests: they wait for other processes, so every
// wait has a deadline and a failure says what it was waiting for and what it saw last.
/**
 * Polls `f` until it returns something other than undefined, null or false, or throws after `timeoutMs`
 * with the last value or error seen (and `context()`), so a failure says what state it was stuck in.
 */
export async function eventually<T>(what: string, f: () => Promise<T | undefined | null | false>, opts: { timeoutMs?: number; intervalMs?: number; context?: () => string } = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v !== undefined && v !== null && v !== false) return v as T;
      last = v;
    } catch (e) {
      last = e;
    }
    await Bun.sleep(opts.intervalMs ?? 200);
  }
  const lastText = last instanceof Error ? last.message : JSON.stringify(last);
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${lastText}${opts.context ? `\n${opts.context()}` : ""}`);
}
