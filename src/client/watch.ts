// Reading a watch stream: newline-separated JSON events.
import { ApiError, type Status } from "../api/errors";
import type { KubeObject } from "../api/meta";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  object: T;
}

/** Calls onEvent per event; an ERROR event (a Status) is thrown as ApiError. */
export async function readWatchStream<T extends KubeObject>(res: Response, onEvent: (e: WatchEvent<T>) => void, signal?: AbortSignal): Promise<void> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || signal?.aborted) return;
      buf += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const event = JSON.parse(line) as { type: string; object: unknown };
        if (event.type === "ERROR") {
          const s = event.object as Status;
          throw new ApiError(s.code, s.reason ?? "InternalError", s.message ?? "watch error", s.details);
        }
        onEvent(event as WatchEvent<T>);
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
