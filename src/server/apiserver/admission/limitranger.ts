// The LimitRanger admission step: every LimitRange of the namespace fills a new pod's missing
// container requests and limits from its Container defaults (noting what it set in the
// kubernetes.io/limit-ranger annotation), then checks min, max and the limit/request ratio per
// Container and per Pod; a PersistentVolumeClaim's storage request is checked against min and
// max. A refusal is a 403 with upstream's wording.
import { invalid, fieldCauses } from "../../../api/errors";
import { KINDS, sameResource } from "../../../api/kinds";
import type { KubeObject } from "../../../api/meta";
import { formatQuantity, parseQuantity, tryParseQuantity, type Quantity } from "../../../api/quantity";
import type { ResourceDef } from "../../../api/resource";
import type { LimitRange } from "../../../api/resources/core/limitrange";
import type { Pod } from "../../../api/resources/core/pod";
import { podQOSClass } from "../../../api/resources/core/podspec.defaults";
import type { Container } from "../../../api/resources/core/podspec.schema";
import { podAggregate } from "../../quota/evaluators";
import type { ResourceList } from "../../quota/resourcelist";
import type { AdmissionPlugin } from "./admission";
import { forbiddenFor } from "./forbidden";

export const LIMIT_RANGER_ANNOTATION = "kubernetes.io/limit-ranger";

type List = Record<string, string | number>;

/** Copies the Container defaults of one LimitRange into a pod's containers and notes what it set. */
export function applyDefaults(lr: LimitRange, pod: Pod): void {
  const limits: List = {};
  const requests: List = {};
  for (const item of lr.spec?.limits ?? []) {
    if (item.type !== "Container") continue;
    Object.assign(requests, item.defaultRequest);
    Object.assign(limits, item.default);
  }
  if (!Object.keys(limits).length && !Object.keys(requests).length) return;
  const notes: string[] = [];
  const fill = (c: Container, what: string) => {
    const res = (c.resources ??= {}) as { limits?: List; requests?: List };
    const setLimits: string[] = [];
    const setRequests: string[] = [];
    for (const [k, v] of Object.entries(limits)) {
      if (k in (res.limits ?? {})) continue;
      (res.limits ??= {})[k] = v;
      setLimits.push(k);
    }
    for (const [k, v] of Object.entries(requests)) {
      if (k in (res.requests ?? {})) continue;
      (res.requests ??= {})[k] = v;
      setRequests.push(k);
    }
    if (setRequests.length) notes.push(`${setRequests.sort().join(", ")} request for ${what} ${c.name}`);
    if (setLimits.length) notes.push(`${setLimits.sort().join(", ")} limit for ${what} ${c.name}`);
  };
  for (const c of pod.spec?.containers ?? []) fill(c, "container");
  for (const c of pod.spec?.initContainers ?? []) fill(c, "init container");
  if (notes.length) (pod.metadata.annotations ??= {})[LIMIT_RANGER_ANNOTATION] = `LimitRanger plugin set: ${notes.join("; ")}`;
}

// Comparisons at milli precision while every value fits upstream's int64 milli range, else in
// whole units, as upstream's requestLimitEnforcedValues.
const MAX_MILLI = 9_223_372_036_854_775n;
const ceilDiv = (a: bigint, b: bigint) => (a >= 0n ? (a + b - 1n) / b : a / b);
const whole = (q: Quantity | undefined) => (q ? ceilDiv(q.nano, 1_000_000_000n) : 0n);
const milli = (q: Quantity | undefined) => (q ? ceilDiv(q.nano, 1_000_000n) : 0n);
function comparable(req: Quantity | undefined, lim: Quantity | undefined, enforced: Quantity): [bigint, bigint, bigint] {
  if (whole(req) <= MAX_MILLI && whole(lim) <= MAX_MILLI && whole(enforced) <= MAX_MILLI) return [milli(req), milli(lim), milli(enforced)];
  return [whole(req), whole(lim), whole(enforced)];
}
const str = formatQuantity;

function minConstraint(type: string, name: string, enforced: Quantity, requests: ResourceList, limits: ResourceList): string | undefined {
  const req = requests.get(name);
  const lim = limits.get(name);
  const [r, l, e] = comparable(req, lim, enforced);
  if (!req) return `minimum ${name} usage per ${type} is ${str(enforced)}.  No request is specified`;
  if (r < e) return `minimum ${name} usage per ${type} is ${str(enforced)}, but request is ${str(req)}`;
  if (lim && l < e) return `minimum ${name} usage per ${type} is ${str(enforced)}, but limit is ${str(lim)}`;
}

function maxConstraint(type: string, name: string, enforced: Quantity, requests: ResourceList, limits: ResourceList): string | undefined {
  const req = requests.get(name);
  const lim = limits.get(name);
  const [r, l, e] = comparable(req, lim, enforced);
  if (!lim) return `maximum ${name} usage per ${type} is ${str(enforced)}.  No limit is specified`;
  if (l > e) return `maximum ${name} usage per ${type} is ${str(enforced)}, but limit is ${str(lim)}`;
  if (req && r > e) return `maximum ${name} usage per ${type} is ${str(enforced)}, but request is ${str(req)}`;
}

/** For kinds whose limits are not user input (claims): the request against max. */
function maxRequestConstraint(type: string, name: string, enforced: Quantity, requests: ResourceList): string | undefined {
  const req = requests.get(name);
  const [r, , e] = comparable(req, undefined, enforced);
  if (!req) return `maximum ${name} usage per ${type} is ${str(enforced)}.  No request is specified`;
  if (r > e) return `maximum ${name} usage per ${type} is ${str(enforced)}, but request is ${str(req)}`;
}

function ratioConstraint(type: string, name: string, enforced: Quantity, requests: ResourceList, limits: ResourceList): string | undefined {
  const req = requests.get(name);
  const lim = limits.get(name);
  const [r, l] = comparable(req, lim, enforced);
  if (!req || r === 0n) return `${name} max limit to request ratio per ${type} is ${str(enforced)}, but no request is specified or request is 0`;
  if (!lim || l === 0n) return `${name} max limit to request ratio per ${type} is ${str(enforced)}, but no limit is specified or limit is 0`;
  const observed = Number(l) / Number(r);
  const useMilli = whole(enforced) <= MAX_MILLI;
  const bound = Number(useMilli ? milli(enforced) : whole(enforced));
  if ((useMilli ? observed * 1000 : observed) > bound)
    return `${name} max limit to request ratio per ${type} is ${str(enforced)}, but provided ratio is ${observed.toFixed(6)}`;
}

const listOf = (m: List | undefined): ResourceList => {
  const out: ResourceList = new Map();
  for (const [k, v] of Object.entries(m ?? {})) {
    const q = tryParseQuantity(v);
    if (q) out.set(k, q);
  }
  return out;
};

/** Checks one item's bounds against requests and limits: the messages of what it breaks. */
function checkBounds(type: string, item: NonNullable<LimitRange["spec"]>["limits"][number], requests: ResourceList, limits: ResourceList): string[] {
  const errs: (string | undefined)[] = [];
  for (const [k, v] of Object.entries(item.min ?? {})) errs.push(minConstraint(type, k, parseQuantity(v), requests, limits));
  for (const [k, v] of Object.entries(item.max ?? {})) errs.push(maxConstraint(type, k, parseQuantity(v), requests, limits));
  for (const [k, v] of Object.entries(item.maxLimitRequestRatio ?? {})) errs.push(ratioConstraint(type, k, parseQuantity(v), requests, limits));
  return errs.filter((e): e is string => !!e);
}

/** PodValidateLimitFunc: the messages of every bound one LimitRange's items find broken. */
export function validatePod(lr: LimitRange, pod: Pod): string[] {
  const errs: string[] = [];
  for (const item of lr.spec?.limits ?? []) {
    if (item.type === "Container") {
      for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])])
        errs.push(...checkBounds("Container", item, listOf(c.resources?.requests as List), listOf(c.resources?.limits as List)));
    } else if (item.type === "Pod") {
      errs.push(...checkBounds("Pod", item, podAggregate(pod.spec, "requests"), podAggregate(pod.spec, "limits")));
    }
  }
  return errs;
}

/** PersistentVolumeClaimValidateLimitFunc: storage requests against min and max. */
export function validateClaim(lr: LimitRange, claim: KubeObject): string[] {
  const requests = listOf((claim.spec as { resources?: { requests?: List } } | undefined)?.resources?.requests);
  const errs: (string | undefined)[] = [];
  for (const item of lr.spec?.limits ?? []) {
    if (item.type !== "PersistentVolumeClaim") continue;
    for (const [k, v] of Object.entries(item.min ?? {})) errs.push(minConstraint(item.type, k, parseQuantity(v), requests, new Map()));
    for (const [k, v] of Object.entries(item.max ?? {})) errs.push(maxRequestConstraint(item.type, k, parseQuantity(v), requests));
  }
  return errs.filter((e): e is string => !!e);
}

/** utilerrors.NewAggregate's text: one message alone, several as `[a, b]`, duplicates once. */
export function aggregate(messages: string[]): string {
  const unique = [...new Set(messages)];
  return unique.length === 1 ? unique[0]! : `[${unique.join(", ")}]`;
}

const isPod = (def: ResourceDef) => sameResource(def, KINDS.pods);
const isClaim = (def: ResourceDef) => def.group === "" && def.plural === "persistentvolumeclaims";

export class LimitRanger implements AdmissionPlugin {
  /** `limitRanges(namespace)`: the namespace's LimitRanges as the API server holds them now. */
  constructor(private readonly limitRanges: (namespace: string) => LimitRange[]) {}

  admit(op: "create" | "update", def: ResourceDef, obj: KubeObject, old?: KubeObject) {
    // Containers cannot change after create, so pods are limited once; claims on every write
    // (a resize), unless being deleted.
    if (!(isPod(def) && op === "create") && !isClaim(def)) return;
    if (old?.metadata.deletionTimestamp) return;
    const ranges = this.limitRanges(obj.metadata.namespace ?? "");
    if (!ranges.length) return;

    if (isClaim(def)) {
      for (const lr of ranges) {
        const errs = validateClaim(lr, obj);
        if (errs.length) throw forbiddenFor(def, obj, aggregate(errs));
      }
      return;
    }

    const pod = obj as Pod;
    const before = JSON.stringify(pod.spec);
    for (const lr of ranges) applyDefaults(lr, pod);
    if (JSON.stringify(pod.spec) !== before) {
      // Defaults can contradict what the pod set itself (a request above the default limit):
      // validated again, as upstream validates after its mutating admission.
      const errs = def.validate(pod);
      if (errs.length) throw invalid({ group: def.group, plural: def.plural, kind: def.kind }, pod.metadata.name ?? "", fieldCauses(errs));
      if (pod.status) pod.status.qosClass = podQOSClass(pod.spec!);
    }
    for (const lr of ranges) {
      const errs = validatePod(lr, pod);
      if (errs.length) throw forbiddenFor(def, obj, aggregate(errs));
    }
  }
}
