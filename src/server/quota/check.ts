// The quota decision for one write, as upstream's quota admission CheckRequest: which quotas of
// the namespace cover the object, what it adds to each (on update only the growth), and whether
// that stays within every hard limit. Pure: the caller reads the quotas and writes back the
// usage returned, so the same decision serves any store.
import type { KubeObject } from "../../api/meta";
import type { ResourceQuota } from "../../api/resources/core/resourcequota";
import { evaluatorFor, quotaMatches, type GroupResource } from "./evaluators";
import {
  add,
  lessThanOrEqual,
  mask,
  negativeNames,
  parseResourceList,
  prettyPrint,
  prettyPrintNames,
  removeZeros,
  subtractNonNegative,
  toRecord,
  type ResourceList,
} from "./resourcelist";

/** A refusal: the message after `<resource> "<name>" is forbidden: `. */
export class QuotaRefusal extends Error {}

export interface QuotaCharge {
  quota: ResourceQuota;
  /** status.used once the write is admitted. */
  used: Record<string, string>;
}

/**
 * The quotas whose usage the write changes, with their new usage; [] when none changes.
 * Throws QuotaRefusal when the write would exceed a quota or breaks a quota's constraints.
 */
export function checkRequest(
  quotas: ResourceQuota[],
  op: "create" | "update",
  gr: GroupResource,
  obj: KubeObject,
  old: KubeObject | undefined,
  now: Date,
): QuotaCharge[] {
  const ev = evaluatorFor(gr);
  if (!ev || (op === "update" && !ev.handlesUpdate)) return [];

  const interesting: ResourceQuota[] = [];
  for (const rq of quotas) {
    if (!quotaMatches(rq, ev, obj)) continue;
    const restricted = ev.matchingResources(Object.keys(rq.status?.hard ?? {}));
    const broken = ev.constraints?.(restricted, obj);
    if (broken) throw new QuotaRefusal(`failed quota: ${rq.metadata.name}: ${broken}`);
    const used = rq.status?.used ?? {};
    const unknown = restricted.filter((r) => !(r in used));
    if (unknown.length) throw new QuotaRefusal(`status unknown for quota: ${rq.metadata.name}, resources: ${prettyPrintNames(restricted)}`);
    interesting.push(rq);
  }
  if (!interesting.length) return [];

  const usage = ev.usage(obj, now);
  const negative = negativeNames(usage);
  if (negative.length) throw new QuotaRefusal(`quota usage is negative for resource(s): ${prettyPrintNames(negative)}`);

  // On update only the growth is charged, and only to quotas that already covered the old object.
  const prevUsage = op === "update" && old ? ev.usage(old, now) : undefined;
  const deltaFor = (rq: ResourceQuota): ResourceList =>
    removeZeros(prevUsage && quotaMatches(rq, ev, old!) ? subtractNonNegative(usage, prevUsage) : usage);

  const charges: QuotaCharge[] = [];
  for (const rq of interesting) {
    const delta = deltaFor(rq);
    if (!delta.size) continue;
    const hard = parseResourceList(rq.status?.hard);
    const used = parseResourceList(rq.status?.used);
    const requested = mask(delta, hard.keys());
    if (!requested.size) continue;
    const next = add(used, requested);
    const { ok, exceeded } = lessThanOrEqual(mask(next, requested.keys()), hard);
    if (!ok) {
      throw new QuotaRefusal(
        `exceeded quota: ${rq.metadata.name}, requested: ${prettyPrint(mask(requested, exceeded))}, used: ${prettyPrint(zeroFilled(used, exceeded))}, limited: ${prettyPrint(mask(hard, exceeded))}`,
      );
    }
    charges.push({ quota: rq, used: toRecord(next) });
  }
  return charges;
}

/** The named entries of `list`; upstream prints a missing one as 0. */
function zeroFilled(list: ResourceList, names: string[]): ResourceList {
  return new Map(names.map((n) => [n, list.get(n) ?? { nano: 0n, format: "DecimalSI" as const }]));
}
