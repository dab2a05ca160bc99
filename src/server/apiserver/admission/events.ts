// Events the API server itself records about what admission decided (a Node registered without
// a pod CIDR), written through the object layer like any other create. Fire and forget: a write
// that fails is logged, never thrown into the request that caused it.
import { newEvent } from "../../../api/event-object";
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import { log } from "../../../machinery/log";
import type { Objects } from "../objects/objects";

export function recordEvent(objects: Objects, eventsDef: ResourceDef, involved: { apiVersion: string; kind: string; obj: KubeObject }, type: "Normal" | "Warning", reason: string, message: string, component: string) {
  const { obj } = involved;
  const event = newEvent({ ...obj, apiVersion: involved.apiVersion, kind: involved.kind }, type, reason, message, { component });
  objects.create(eventsDef, event.metadata.namespace, event).catch((e) => log.warn("could not record event", { reason, object: obj.metadata.name, error: String(e) }));
}
