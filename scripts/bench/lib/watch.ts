// A minimal Kubernetes watch client for benchmarks: reads the newline-delimited JSON stream and
// records, per event, its type, object name, resourceVersion and when it arrived.

export interface SeenEvent {
  type: string;
  name: string;
  rv: number;
  /** performance.now() when the line was parsed. */
  at: number;
}

export interface BenchWatcher {
  events: SeenEvent[];
  /** Resolves when the stream ends (server closed it, or stop()). */
  done: Promise<void>;
  error?: string;
  stop(): void;
}

/** `onEvent` also gets the whole decoded object; `keep: false` does not record events in `events`. */
export function openWatch(url: string, init: RequestInit, onEvent?: (e: SeenEvent, object: any) => void, opts: { keep?: boolean } = {}): BenchWatcher {
  const abort = new AbortController();
  const w: BenchWatcher = { events: [], done: Promise.resolve(), stop: () => abort.abort() };
  w.done = (async () => {
    try {
      const res = await fetch(url, { ...init, signal: abort.signal });
      if (res.status !== 200) {
        w.error = `watch answered ${res.status}: ${(await res.text()).slice(0, 200)}`;
        return;
      }
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of res.body!) {
        buffered += decoder.decode(chunk, { stream: true });
        if (!buffered.includes("\n")) continue;
        const lines = buffered.split("\n");
        buffered = lines.pop()!; // the incomplete tail
        for (const line of lines) {
          if (!line) continue;
          const ev = JSON.parse(line) as { type: string; object: { metadata: { name?: string; resourceVersion?: string } } };
          const seen = { type: ev.type, name: ev.object.metadata.name ?? "", rv: Number(ev.object.metadata.resourceVersion), at: performance.now() };
          if (opts.keep !== false) w.events.push(seen);
          onEvent?.(seen, ev.object);
        }
      }
    } catch (e) {
      if (!abort.signal.aborted) w.error = String(e);
    }
  })();
  return w;
}
