// A new core/v1 Event about an object, as upstream's recorders write one. Plain data on purpose:
// the agent records events too, and must not load the resource schemas (TypeBox) to do so.
import type { KubeObject } from "./meta";

export const eventTimestamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

export interface EventSource {
  component: string;
  host?: string;
}

/** The involved object needs apiVersion and kind (list items lack them; callers fill them in). */
export function newEvent(obj: KubeObject, type: "Normal" | "Warning", reason: string, message: string, source: EventSource): KubeObject {
  const now = eventTimestamp();
  // Events about cluster-scoped objects live in "default", as upstream's recorder puts them.
  const namespace = obj.metadata.namespace || "default";
  return {
    metadata: { name: `${obj.metadata.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`, namespace },
    involvedObject: {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      ...(obj.metadata.resourceVersion !== undefined && { resourceVersion: obj.metadata.resourceVersion }),
    },
    reason,
    message,
    type,
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component: source.component, ...(source.host && { host: source.host }) },
    reportingComponent: source.component,
    reportingInstance: source.host ?? "",
  };
}
