// Events the API server itself records about what admission decided (a Node registered without
// a pod CIDR), written through the object layer like any other create. Fire and forget: a write
// that fails is logged, never thrown into the request that caused it.
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import { log } from "../../../machinery/log";
import type { Objects } from "../objects/objects";

const timestamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

export function recordEvent(objects: Objects, eventsDef: ResourceDef, involved: { apiVersion: string; kind: string; obj: KubeObject }, type: "Normal" | "Warning", reason: string, message: string, component: string) {
  const { obj } = involved;
  // Events about cluster-scoped objects live in "default", as upstream's recorder puts them.
  const namespace = obj.metadata.namespace || "default";
  const now = timestamp();
  const event: KubeObject = {
    metadata: { name: `${obj.metadata.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`, namespace },
    involvedObject: { apiVersion: involved.apiVersion, kind: involved.kind, name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid },
    reason,
    message,
    type,
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component },
    reportingComponent: component,
    reportingInstance: "",
  };
  objects.create(eventsDef, namespace, event).catch((e) => log.warn("could not record event", { reason, object: obj.metadata.name, error: String(e) }));
}
