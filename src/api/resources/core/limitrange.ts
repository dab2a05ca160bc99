// v1 LimitRange: per-namespace bounds and defaults for what each Container, Pod or
// PersistentVolumeClaim asks for, applied by the LimitRanger admission step. Validation is
// upstream's ValidateLimitRange: one item per type, resource names for the type, and min ≤
// defaultRequest ≤ default ≤ max, with a limit/request ratio of at least 1.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import { KINDS } from "../../kinds";
import type { KubeObject } from "../../meta";
import { compareQuantities, formatQuantity, quantityMilli, quantityValue, tryParseQuantity, validateQuantity, type Quantity as Q } from "../../quantity";
import type { ResourceDef } from "../../resource";
import { Doc, Obj, Quantity, TopLevel } from "../../schema";
import { column, nameColumn } from "../../table";
import { fieldDuplicate, fieldForbidden, fieldInvalid, fieldRequired, isQualifiedName } from "../../validation";
import { validateResourceName } from "./resourcequota";

const Str = () => Type.String();
const Opt = Type.Optional;
const ResourceList = Type.Record(Str(), Quantity);

export const LimitRangeItemSchema = Obj({
  type: Type.String({ description: "What the limits apply to: Container, Pod or PersistentVolumeClaim." }),
  max: Opt(Doc(ResourceList, "The most any one of them may ask for, by resource.")),
  min: Opt(Doc(ResourceList, "The least any one of them may ask for, by resource.")),
  default: Opt(Doc(ResourceList, "Limits given to a container that sets none.")),
  defaultRequest: Opt(Doc(ResourceList, "Requests given to a container that sets none.")),
  maxLimitRequestRatio: Opt(Doc(ResourceList, "The largest limit/request ratio allowed, by resource.")),
}, { title: "LimitRangeItem" });

export const LimitRangeSchema = TopLevel(
  { spec: Opt(Obj({ limits: Type.Array(LimitRangeItemSchema, { description: "The limits, one entry per type and set of resources." }) })) },
  "LimitRange sets resource usage limits for each kind of resource in a Namespace.",
);

export type LimitRange = Static<typeof LimitRangeSchema> & KubeObject;
export type LimitRangeItem = Static<typeof LimitRangeItemSchema>;

const LIMIT_TYPES = ["Pod", "Container", "PersistentVolumeClaim"];
const CONTAINER_RESOURCES = new Set(["cpu", "memory", "ephemeral-storage"]);
const isNative = (name: string) => !name.includes("/") || name.includes("kubernetes.io/");
/** Resources that may not be overcommitted (hugepages, extended): default must equal defaultRequest. */
const overcommitAllowed = (name: string) => isNative(name) && !name.startsWith("hugepages-");

function validateTypeName(type: string, path: string): FieldError[] {
  const errs = isQualifiedName(type).map((m) => fieldInvalid(path, type, m));
  if (errs.length) return errs;
  if (!type.includes("/") && !LIMIT_TYPES.includes(type)) return [fieldInvalid(path, type, "must be a standard limit type or fully qualified")];
  return [];
}

/** Pod and Container items name container resources; other types any resource. */
function validateItemResourceName(type: string, name: string, path: string): FieldError[] {
  if (type !== "Pod" && type !== "Container") return validateResourceName(name, path);
  const errs = validateResourceName(name, path);
  if (!name.includes("/")) {
    if (!CONTAINER_RESOURCES.has(name) && !name.startsWith("hugepages-")) errs.push(fieldInvalid(path, name, "must be a standard resource for containers"));
  } else if (!isNative(name) && (name.startsWith("requests.") || isQualifiedName(`requests.${name}`).length)) {
    errs.push(fieldInvalid(path, name, "doesn't follow extended resource name standard"));
  }
  return errs;
}

/** Milli-precision when every value fits, as upstream compares; whole units otherwise. */
const MAX_MILLI = 9_223_372_036_854_775n; // upstream's MaxMilliValue

export function validateLimitRange(lr: LimitRange): FieldError[] {
  const errs: FieldError[] = [];
  const seenTypes = new Set<string>();
  (lr.spec?.limits ?? []).forEach((item, i) => {
    const path = `spec.limits[${i}]`;
    errs.push(...validateTypeName(item.type, `${path}.type`));
    if (seenTypes.has(item.type)) errs.push(fieldDuplicate(`${path}.type`, item.type));
    seenTypes.add(item.type);

    const maps: Record<string, Map<string, Q>> = {};
    const keys = new Set<string>();
    const collect = (field: keyof LimitRangeItem) => {
      const m = new Map<string, Q>();
      maps[field] = m;
      for (const [k, v] of Object.entries((item[field] as Record<string, string | number> | undefined) ?? {})) {
        const p = `${path}.${field}[${k}]`;
        errs.push(...validateItemResourceName(item.type, k, p));
        const bad = validateQuantity(v, p);
        errs.push(...bad);
        keys.add(k);
        const q = tryParseQuantity(v);
        if (q) m.set(k, q);
      }
    };
    collect("max");
    collect("min");
    if (item.type === "Pod") {
      if (Object.keys(item.default ?? {}).length) errs.push(fieldForbidden(`${path}.default`, "may not be specified when `type` is 'Pod'"));
      if (Object.keys(item.defaultRequest ?? {}).length) errs.push(fieldForbidden(`${path}.defaultRequest`, "may not be specified when `type` is 'Pod'"));
      maps.default = new Map();
      maps.defaultRequest = new Map();
    } else {
      collect("default");
      collect("defaultRequest");
    }
    if (item.type === "PersistentVolumeClaim" && !item.min?.storage && !item.max?.storage)
      errs.push(fieldRequired(`${path}.limits`, "either minimum or maximum storage value is required, but neither was provided"));
    collect("maxLimitRequestRatio");

    const s = formatQuantity;
    for (const k of keys) {
      const min = maps.min!.get(k);
      const max = maps.max!.get(k);
      const def = maps.default!.get(k);
      const defReq = maps.defaultRequest!.get(k);
      const ratio = maps.maxLimitRequestRatio!.get(k);
      if (min && max && compareQuantities(min, max) > 0) errs.push(fieldInvalid(`${path}.min[${k}]`, s(min), `min value ${s(min)} is greater than max value ${s(max)}`));
      if (defReq && min && compareQuantities(min, defReq) > 0)
        errs.push(fieldInvalid(`${path}.defaultRequest[${k}]`, s(defReq), `min value ${s(min)} is greater than default request value ${s(defReq)}`));
      if (defReq && max && compareQuantities(defReq, max) > 0)
        errs.push(fieldInvalid(`${path}.defaultRequest[${k}]`, s(defReq), `default request value ${s(defReq)} is greater than max value ${s(max)}`));
      if (defReq && def && compareQuantities(defReq, def) > 0)
        errs.push(fieldInvalid(`${path}.defaultRequest[${k}]`, s(defReq), `default request value ${s(defReq)} is greater than default limit value ${s(def)}`));
      if (def && min && compareQuantities(min, def) > 0) errs.push(fieldInvalid(`${path}.default[${k}]`, s(min), `min value ${s(min)} is greater than default value ${s(def)}`));
      if (def && max && compareQuantities(def, max) > 0) errs.push(fieldInvalid(`${path}.default[${k}]`, s(max), `default value ${s(def)} is greater than max value ${s(max)}`));
      if (ratio && ratio.nano < 1_000_000_000n) errs.push(fieldInvalid(`${path}.maxLimitRequestRatio[${k}]`, s(ratio), `ratio ${s(ratio)} is less than 1`));
      if (ratio && min && max) {
        const milli = quantityValue(ratio) < MAX_MILLI && quantityValue(min) < MAX_MILLI && quantityValue(max) < MAX_MILLI;
        const ratioValue = milli ? quantityMilli(ratio) / 1000 : quantityValue(ratio);
        const bound = milli ? quantityMilli(max) / quantityMilli(min) : quantityValue(max) / quantityValue(min);
        if (ratioValue > bound) errs.push(fieldInvalid(`${path}.maxLimitRequestRatio[${k}]`, s(ratio), `ratio ${s(ratio)} is greater than max/min = ${bound.toFixed(6)}`));
      }
      if (!overcommitAllowed(k) && def && defReq && compareQuantities(def, defReq) !== 0)
        errs.push(fieldInvalid(`${path}.defaultRequest[${k}]`, s(defReq), `default value ${s(def)} must equal to defaultRequest value ${s(defReq)} in ${k}`));
    }
  });
  return errs;
}

/**
 * SetDefaults_LimitRangeItem, for Container items: a missing default limit is the max, a
 * missing default request the default limit, else the min.
 */
export function defaultLimitRange(lr: LimitRange) {
  for (const item of lr.spec?.limits ?? []) {
    if (item.type !== "Container") continue;
    const def = { ...item.default };
    const defReq = { ...item.defaultRequest };
    for (const [k, v] of Object.entries(item.max ?? {})) if (!(k in def)) def[k] = v;
    for (const [k, v] of Object.entries(def)) if (!(k in defReq)) defReq[k] = v;
    for (const [k, v] of Object.entries(item.min ?? {})) if (!(k in defReq)) defReq[k] = v;
    if (Object.keys(def).length) item.default = def;
    if (Object.keys(defReq).length) item.defaultRequest = defReq;
  }
}

export const limitRanges: ResourceDef<LimitRange> = {
  ...KINDS.limitRanges,
  schema: LimitRangeSchema,
  subresources: [],
  hasStatus: false,
  defaults: defaultLimitRange,
  validate: validateLimitRange,
  table: {
    columns: [nameColumn, { ...column("Created At", "CreationTimestamp is a timestamp representing the server time when this object was created."), type: "date" }],
    row: (lr) => [lr.metadata.name, lr.metadata.creationTimestamp ?? null],
  },
};
