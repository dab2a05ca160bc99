import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { Obj, TopLevel } from "../../schema";
import { column, humanDuration } from "../../table";
import { fieldInvalid, fieldRequired, isDns1123Subdomain, isQualifiedName } from "../../validation";
import { Int32, NullableTime, ObjectReferenceSchema } from "../common";

const Str = () => Type.String();
const Opt = Type.Optional;

export const EventSchema = TopLevel(
  {
    involvedObject: ObjectReferenceSchema,
    reason: Opt(Str()),
    message: Opt(Str()),
    source: Opt(Obj({ component: Opt(Str()), host: Opt(Str()) })),
    firstTimestamp: Opt(NullableTime),
    lastTimestamp: Opt(NullableTime),
    count: Opt(Int32()),
    type: Opt(Str()),
    eventTime: Opt(NullableTime),
    series: Opt(Obj({ count: Opt(Int32()), lastObservedTime: Opt(NullableTime) })),
    action: Opt(Str()),
    related: Opt(ObjectReferenceSchema),
    reportingComponent: Opt(Str()),
    reportingInstance: Opt(Str()),
  },
  "Event is a report of an event somewhere in the cluster.",
);

export type Event = Static<typeof EventSchema> & KubeObject;

const tooLong = (path: string, v: string | undefined, max: number) =>
  v && v.length > max ? [fieldInvalid(path, v, `can have at most ${max} characters`)] : [];

/** ValidateEventCreate for core/v1 Events: legacy ones (no eventTime) and new-style ones. */
function validateEvent(ev: Event): FieldError[] {
  const errs: FieldError[] = [];
  const ns = ev.metadata.namespace ?? "";
  const involvedNs = ev.involvedObject?.namespace ?? "";
  const mismatch = () => errs.push(fieldInvalid("involvedObject.namespace", involvedNs, "does not match event.namespace"));
  if (!ev.eventTime) {
    if (!involvedNs) {
      if (ns !== "" && ns !== "default") mismatch();
    } else if (ns !== involvedNs) mismatch();
  } else {
    if (!involvedNs && ns !== "default" && ns !== "kube-system") mismatch();
    if (!ev.reportingComponent) errs.push(fieldRequired("reportingComponent"));
    else errs.push(...isQualifiedName(ev.reportingComponent).map((m) => fieldInvalid("reportingComponent", ev.reportingComponent, m)));
    if (!ev.reportingInstance) errs.push(fieldRequired("reportingInstance"));
    errs.push(...tooLong("reportingInstance", ev.reportingInstance, 128));
    if (!ev.action) errs.push(fieldRequired("action"));
    errs.push(...tooLong("action", ev.action, 128));
    if (!ev.reason) errs.push(fieldRequired("reason"));
    errs.push(...tooLong("message", ev.message, 1024));
  }
  errs.push(...tooLong("reason", ev.reason, 128));
  if (ns) errs.push(...isDns1123Subdomain(ns).map((m) => fieldInvalid("metadata.namespace", ns, m)));
  return errs;
}

const since = (t: string | null | undefined, now: Date) => (t ? humanDuration(now.getTime() - Date.parse(t)) : "<unknown>");

/** formatEventSource: "component, host", with the reporting fields as fallbacks. */
export function eventSource(ev: Event): string {
  const component = ev.source?.component || ev.reportingComponent || "";
  const host = ev.source?.host || ev.reportingInstance || "";
  return host ? `${component}, ${host}` : component;
}

export const events: ResourceDef<Event> = {
  ...KINDS.events,
  schema: EventSchema,
  subresources: [],
  hasStatus: false,
  defaults() {},
  validate: validateEvent,
  table: {
    columns: [
      column("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
      column("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
      column("Reason", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
      column("Object", "The object that this event is about."),
      column("Subobject", "If the reference is to an object component rather than an entire object, this string should contain a valid JSON/Go field access statement.", 1),
      column("Source", "The component reporting this event. Should be a short machine understandable string.", 1),
      column("Message", "A human-readable description of the status of this operation."),
      column("First Seen", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)", 1),
      column("Count", "The number of times this event has occurred.", 1),
      { name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace.", priority: 1 },
    ],
    row(ev, now) {
      const first = ev.firstTimestamp ? since(ev.firstTimestamp, now) : since(ev.eventTime, now);
      let last = ev.lastTimestamp ? since(ev.lastTimestamp, now) : first;
      let count = ev.count ?? 0;
      if (ev.series) {
        last = since(ev.series.lastObservedTime, now);
        count = ev.series.count ?? 0;
      } else if (count === 0) count = 1;
      const kind = (ev.involvedObject?.kind ?? "").toLowerCase();
      const target = ev.involvedObject?.name ? `${kind}/${ev.involvedObject.name}` : kind;
      return [
        last,
        ev.type ?? "",
        ev.reason ?? "",
        target,
        ev.involvedObject?.fieldPath ?? "",
        eventSource(ev),
        (ev.message ?? "").trim(),
        first,
        count,
        ev.metadata.name,
      ];
    },
  },
  fieldSelectors: {
    "involvedObject.kind": (e) => e.involvedObject?.kind ?? "",
    "involvedObject.namespace": (e) => e.involvedObject?.namespace ?? "",
    "involvedObject.name": (e) => e.involvedObject?.name ?? "",
    "involvedObject.uid": (e) => e.involvedObject?.uid ?? "",
    "involvedObject.apiVersion": (e) => e.involvedObject?.apiVersion ?? "",
    "involvedObject.resourceVersion": (e) => e.involvedObject?.resourceVersion ?? "",
    "involvedObject.fieldPath": (e) => e.involvedObject?.fieldPath ?? "",
    reason: (e) => e.reason ?? "",
    reportingComponent: (e) => e.reportingComponent ?? "",
    source: (e) => e.source?.component ?? "",
    type: (e) => e.type ?? "",
  },
};
