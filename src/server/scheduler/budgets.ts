// The PodDisruptionBudget check for preemption victims, as upstream's filterPodsWithPDBViolation:
// walking the victims most important first, each budget that selects a victim gives up one of its
// allowed disruptions; a victim that takes a budget below zero would violate it. A victim already
// in a budget's disruptedPods was counted by the eviction that put it there, and a budget with no
// selector or an empty one protects nothing here, as upstream.
import { labelSelectorFromObject } from "../../api/selectors";
import type { PodDisruptionBudget } from "../../api/resources/policy/poddisruptionbudget";
import type { PreemptionOptions } from "./preemption";
import type { PodInfo } from "./types";

export function budgetSplitter(budgets: () => readonly PodDisruptionBudget[]): NonNullable<PreemptionOptions["splitByBudget"]> {
  return (pods) => {
    const relevant = budgets().filter((b) => b.spec?.selector && Object.keys(b.spec.selector).length > 0);
    const allowed = relevant.map((b) => b.status?.disruptionsAllowed ?? 0);
    const selectors = relevant.map((b) => labelSelectorFromObject(b.spec!.selector));
    const violating: PodInfo[] = [];
    const other: PodInfo[] = [];
    for (const pod of pods) {
      let violates = false;
      relevant.forEach((b, i) => {
        if (b.metadata.namespace !== pod.namespace || selectors[i]!.isEmpty() || !selectors[i]!.matches(pod.labels)) return;
        if (b.status?.disruptedPods?.[pod.name]) return;
        if (--allowed[i]! < 0) violates = true;
      });
      (violates ? violating : other).push(pod);
    }
    return { violating, other };
  };
}
