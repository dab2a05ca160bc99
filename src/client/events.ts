// Records core/v1 Events about objects (FailedScheduling, SuccessfulCreate, ...), so
// `kubectl describe` and `kubectl get events` show what the control plane did and why.
// Repeats of the same event on the same object bump its count instead of adding new objects.
import { eventTimestamp, newEvent } from "../api/event-object";
import { KINDS } from "../api/kinds";
import type { KubeObject } from "../api/meta";
import { createLogger } from "../machinery/log";
import type { KubeClient } from "./client";

const log = createLogger("events");

export type EventType = "Normal" | "Warning";

interface Recorded {
  name: string;
  namespace: string;
  count: number;
  /** When the count was last written (ms). */
  writtenAt: number;
}

/**
 * Repeats of one event are written at most this often; in between they are only counted, and
 * the next write carries the total. A pod that fails to schedule every 30 s must not cost a
 * database write each time (upstream's recorder drops such repeats with a spam filter).
 */
const DEFAULT_REPEAT_WRITE_INTERVAL_MS = 5 * 60_000;

const eventsRef = KINDS.events;

export class EventRecorder {
  private readonly recent = new Map<string, Recorded>();

  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly host?: string,
    private readonly repeatWriteIntervalMs = DEFAULT_REPEAT_WRITE_INTERVAL_MS,
  ) {}

  /** Fire and forget: an event that cannot be written is logged, never thrown. Annotations go on the Event (upstream's AnnotatedEventf). */
  event(obj: KubeObject, type: EventType, reason: string, message: string, annotations?: Record<string, string>) {
    this.write(obj, type, reason, message, annotations).catch((e) => log.debug("could not record event", { reason, error: String(e) }));
  }

  private async write(obj: KubeObject, type: EventType, reason: string, message: string, annotations?: Record<string, string>) {
    const events = this.client.resource(eventsRef);
    const namespace = obj.metadata.namespace || "default";
    const key = `${obj.metadata.uid}|${type}|${reason}|${message}`;
    const now = eventTimestamp();
    const seen = this.recent.get(key);
    if (seen) {
      seen.count++;
      if (Date.now() - seen.writtenAt < this.repeatWriteIntervalMs) return;
      seen.writtenAt = Date.now();
      try {
        await events.patch(seen.namespace, seen.name, { count: seen.count, lastTimestamp: now });
        return;
      } catch {
        this.recent.delete(key); // the event was deleted or expired: write a new one
      }
    }
    const event = newEvent(obj, type, reason, message, { component: this.component, host: this.host });
    if (annotations) event.metadata.annotations = annotations;
    await events.create(namespace, event);
    const name = event.metadata.name!;
    if (this.recent.size > 4096) this.recent.clear(); // bounded memory; a repeat just makes a new event
    this.recent.set(key, { name, namespace, count: 1, writtenAt: Date.now() });
  }
}
