// Pieces several resource definitions share: condition and reference schemas, label selector
// formatting and matching, and the small checks (IP fields, int-or-string percentages) upstream's
// validation uses in many places. The grammars themselves live in src/api/ip.ts and quantity.ts.
import { Type, type TSchema } from "@sinclair/typebox";
import type { FieldError } from "../errors";
import { isIP } from "../ip";
import type { TableColumn } from "../resource";
import { MergeList, Obj, Time } from "../schema";
import { column } from "../table";
import { fieldInvalid, type LabelSelectorObject } from "../validation";

/** Upstream serializes an unset metav1.Time inside a struct as `null` (e.g. lastProbeTime). */
export const NullableTime = Type.Union([Time, Type.Null()]);

export const Int32 = (opts: Record<string, unknown> = {}) => Type.Integer({ format: "int32", ...opts });
export const Int64 = (opts: Record<string, unknown> = {}) => Type.Integer({ format: "int64", ...opts });

/** A list of `{type, status, ...}` conditions, merged by type like upstream's. */
export const Conditions = <T extends TSchema>(item: T) => MergeList(item, "type");

/** The condition shape of apps/v1 ReplicaSets and DaemonSets. */
export const WorkloadConditionSchema = Obj({
  type: Type.String(),
  status: Type.String(),
  lastTransitionTime: Type.Optional(NullableTime),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});

/** A Deployment's condition: the workload one plus lastUpdateTime, in upstream's field order. */
export const DeploymentConditionSchema = Obj({
  type: Type.String(),
  status: Type.String(),
  lastUpdateTime: Type.Optional(NullableTime),
  lastTransitionTime: Type.Optional(NullableTime),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});

export const ObjectReferenceSchema = Obj({
  kind: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  uid: Type.Optional(Type.String()),
  apiVersion: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  fieldPath: Type.Optional(Type.String()),
});

export const LocalObjectReferenceSchema = Obj({ name: Type.Optional(Type.String()) });

// ---------------------------------------------------------------------------------------------
// Label selectors.

/** labels.FormatLabels: "a=b,c=d" sorted by key, "<none>" when empty. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${labels![k]}`).join(",") : "<none>";
}

/**
 * metav1.LabelSelectorAsSelector(sel).String(): requirements sorted by key, "" for an empty
 * selector (matches everything). This is the form the Scale subresource reports.
 */
export function labelSelectorString(sel: LabelSelectorObject | undefined | null): string {
  if (!sel) return "";
  const reqs: { key: string; text: string }[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, text: `${k}=${v}` });
  for (const e of sel.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(",");
    switch (e.operator) {
      case "In":
        reqs.push({ key: e.key, text: `${e.key} in (${values})` });
        break;
      case "NotIn":
        reqs.push({ key: e.key, text: `${e.key} notin (${values})` });
        break;
      case "Exists":
        reqs.push({ key: e.key, text: e.key });
        break;
      case "DoesNotExist":
        reqs.push({ key: e.key, text: `!${e.key}` });
        break;
    }
  }
  return reqs
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((r) => r.text)
    .join(",");
}

/** metav1.FormatLabelSelector: like labelSelectorString but "<none>" when empty. */
export const formatLabelSelector = (sel: LabelSelectorObject | undefined | null) => labelSelectorString(sel) || "<none>";

/** Whether a label selector (object form) matches a set of labels. An empty selector matches all. */
export function selectorMatches(sel: LabelSelectorObject | undefined | null, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case "In":
        if (!has || !values.includes(l[e.key])) return false;
        break;
      case "NotIn":
        if (has && values.includes(l[e.key])) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

export const selectorIsEmpty = (sel: LabelSelectorObject | undefined | null) =>
  !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);

// ---------------------------------------------------------------------------------------------
// Table helpers shared by the workload printers.

export const containersColumn = column("Containers", "Names of each container in the template.", 1);
export const imagesColumn = column("Images", "Images referenced by each container in the template.", 1);
export const selectorColumn = (description: string): TableColumn => column("Selector", description, 1);

/** layoutContainerCells: "a,b" and "img-a,img-b". */
export function containerCells(containers: { name: string; image?: string }[] | undefined): [string, string] {
  const list = containers ?? [];
  return [list.map((c) => c.name).join(","), list.map((c) => c.image ?? "").join(",")];
}

// ---------------------------------------------------------------------------------------------
// Small value checks.

export const validateIP = (value: string, path: string): FieldError[] =>
  isIP(value) ? [] : [fieldInvalid(path, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")];

export const QUANTITY_MESSAGE = "must match the regex ^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

/**
 * int-or-string fields that accept an integer or a percentage ("25%"): maxSurge, maxUnavailable.
 * Returns the errors and, for percentages, the number before '%'.
 */
export function validateIntOrPercent(v: number | string | undefined, path: string): FieldError[] {
  if (v === undefined) return [];
  if (typeof v === "number") {
    return v < 0 ? [fieldInvalid(path, v, "must be greater than or equal to 0")] : [];
  }
  const m = /^([0-9]+)%$/.exec(v);
  if (!m) return [fieldInvalid(path, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
  return [];
}

/** The value of an int-or-percent for zero checks: 0 for 0 and "0%". */
export const isZeroIntOrPercent = (v: number | string | undefined) =>
  v === undefined ? false : typeof v === "number" ? v === 0 : /^0+%$/.test(v);

export const percentOver100 = (v: number | string | undefined) =>
  typeof v === "string" && /^[0-9]+%$/.test(v) && Number(v.slice(0, -1)) > 100;

export const nonNegative = (v: number | undefined, path: string): FieldError[] =>
  v !== undefined && v < 0 ? [fieldInvalid(path, v, "must be greater than or equal to 0")] : [];

export const positive = (v: number | undefined, path: string): FieldError[] =>
  v !== undefined && v <= 0 ? [fieldInvalid(path, v, "must be greater than 0")] : [];

/** Upstream's MaxSecretSize, which also bounds ConfigMaps. */
export const MAX_SECRET_SIZE = 1024 * 1024;

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard padded base64, as Go's encoding/json expects for []byte fields. */
export const isBase64 = (s: string) => BASE64_RE.test(s);

/** Deep equality for JSON values (used by immutability checks). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}
