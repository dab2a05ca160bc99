// A quota's status computed from the caches: status.hard is spec.hard, status.used the sum, over
// the objects of the namespace that fall in the quota's scopes, of what each counts against the
// hard limits (upstream's CalculateUsage). Pods that have finished count only in count/pods.
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import type { ResourceQuota } from "../../../api/resources/core/resourcequota";
import { evaluatorFor, scopeSelectorsOf } from "../../quota/evaluators";
import { add, mask, parseResourceList, toRecord, type ResourceList } from "../../quota/resourcelist";

export interface CountedKind {
  def: ResourceDef;
  /** Names of the quota's hard limits this kind's objects count against. */
  names: string[];
}

/** The served kinds whose objects count against some of `hardNames`. */
export function countedKinds(resources: ResourceDef[], hardNames: string[]): CountedKind[] {
  const out: CountedKind[] = [];
  for (const def of resources) {
    if (!def.namespaced) continue;
    const names = evaluatorFor(def)?.matchingResources(hardNames) ?? [];
    if (names.length) out.push({ def, names });
  }
  return out;
}

/** The status the quota should have, given each counted kind's objects in its namespace. */
export function computeStatus(rq: ResourceQuota, objectsOf: (def: ResourceDef) => KubeObject[], resources: ResourceDef[], now: Date): { hard: Record<string, string>; used: Record<string, string> } {
  const hard = parseResourceList(rq.spec?.hard);
  const names = [...hard.keys()];
  let used: ResourceList = new Map(names.map((n) => [n, { nano: 0n, format: hard.get(n)!.format }]));
  const scopes = scopeSelectorsOf(rq);
  for (const { def, names: counted } of countedKinds(resources, names)) {
    const ev = evaluatorFor(def)!;
    for (const obj of objectsOf(def)) {
      if (!scopes.every((s) => ev.matchesScope(s, obj))) continue;
      used = add(used, mask(ev.usage(obj, now), counted));
    }
  }
  return { hard: toRecord(hard), used: toRecord(used) };
}
