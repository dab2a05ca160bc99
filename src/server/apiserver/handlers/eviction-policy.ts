// What the eviction subresource decides for a pod and the PodDisruptionBudgets over it, as
// upstream's EvictionREST: delete at once, or take one disruption from the budget first, or
// refuse. Pure functions; eviction.ts does the reads and writes.
import { ApiError, forbidden, internal } from "../../../api/errors";
import { selectorMatches } from "../../../api/resources/common";
import type { Pod } from "../../../api/resources/core/pod";
import type { PodDisruptionBudget } from "../../../api/resources/policy/poddisruptionbudget";

/** Upstream's bound on in-flight evictions recorded in one budget. */
export const MAX_DISRUPTED_PODS = 2000;

export const BUDGET_VIOLATION_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget.";

export type EvictionVerdict =
  /** Delete without touching a budget; `pinVersion`: only if the pod is still the version judged. */
  | { action: "delete"; pinVersion: boolean }
  /** Take one disruption from this budget, then delete. */
  | { action: "decrement"; pdb: PodDisruptionBudget };

const isReady = (pod: Pod) => pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** Finished, not yet running, or already being deleted: its eviction disrupts nothing more. */
const canIgnoreBudgets = (pod: Pod) => ["Succeeded", "Failed", "Pending"].includes(pod.status?.phase ?? "Pending") || !!pod.metadata.deletionTimestamp;

/** The budgets whose selector matches the pod (policy/v1: no selector matches nothing, an empty one every pod). */
export const budgetsFor = (pod: Pod, pdbs: PodDisruptionBudget[]) => pdbs.filter((pdb) => selectorMatches(pdb.spec?.selector, pod.metadata.labels));

export function evictionVerdict(pod: Pod, pdbs: PodDisruptionBudget[]): EvictionVerdict {
  if (canIgnoreBudgets(pod)) return { action: "delete", pinVersion: false };
  const matching = budgetsFor(pod, pdbs);
  if (matching.length > 1) throw internal("Internal error occurred: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
  if (matching.length === 0) return { action: "delete", pinVersion: true };
  const pdb = matching[0]!;
  if (!isReady(pod)) {
    // An unready pod counts towards neither currentHealthy nor desiredHealthy: deleting it takes nothing from the budget.
    if (pdb.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow") return { action: "delete", pinVersion: true };
    const { currentHealthy = 0, desiredHealthy = 0 } = pdb.status ?? {};
    if (currentHealthy >= desiredHealthy && desiredHealthy > 0) return { action: "delete", pinVersion: true };
  }
  return { action: "decrement", pdb };
}

const tooManyRequests = (retryAfterSeconds: number, cause: string) =>
  new ApiError(429, "TooManyRequests", BUDGET_VIOLATION_MESSAGE, {
    ...(retryAfterSeconds > 0 && { retryAfterSeconds }),
    causes: [{ reason: "DisruptionBudget", message: cause }],
  });

/**
 * The budget with one disruption taken for `podName` (checkAndDecrement): refused with a 429
 * while the controller has not seen the budget's current spec or no disruption is allowed. A dry
 * run checks but records nothing.
 */
export function takeDisruption(pdb: PodDisruptionBudget, podName: string, now: string, dryRun: boolean): PodDisruptionBudget {
  const status = pdb.status ?? {};
  const name = pdb.metadata.name!;
  if ((status.observedGeneration ?? 0) < (pdb.metadata.generation ?? 1)) throw tooManyRequests(10, `The disruption budget ${name} is still being processed by the server.`);
  const allowed = status.disruptionsAllowed ?? 0;
  if (allowed < 0) throw forbidden(`poddisruptionbudgets.policy "${name}" is forbidden: pdb disruptions allowed is negative`);
  if (Object.keys(status.disruptedPods ?? {}).length > MAX_DISRUPTED_PODS)
    throw forbidden(`poddisruptionbudgets.policy "${name}" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller`);
  if (allowed === 0)
    throw tooManyRequests(0, `The disruption budget ${name} needs ${status.desiredHealthy ?? 0} healthy pods and has ${status.currentHealthy ?? 0} currently`);
  const next = structuredClone(pdb);
  const s = (next.status ??= {});
  s.disruptionsAllowed = allowed - 1;
  if (s.disruptionsAllowed === 0) {
    s.conditions = (s.conditions ?? []).filter((c) => c.type !== "DisruptionAllowed");
    const old = pdb.status?.conditions?.find((c) => c.type === "DisruptionAllowed");
    s.conditions.push({
      type: "DisruptionAllowed",
      status: "False",
      reason: "InsufficientPods",
      message: "",
      observedGeneration: s.observedGeneration,
      lastTransitionTime: old?.status === "False" && old.lastTransitionTime ? old.lastTransitionTime : now,
    });
  }
  if (!dryRun) s.disruptedPods = { ...(s.disruptedPods ?? {}), [podName]: now };
  return next;
}
