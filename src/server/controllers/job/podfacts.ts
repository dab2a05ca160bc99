// What the Job controller reads from its pods: whether a pod finished and how, its completion
// index, which pod failure policy rule it matches, and when it failed (for the backoff delay).
import type { Job, PodFailurePolicyRule } from "../../../api/resources/batch/job";
import { JOB_LABELS, JOB_TRACKING_FINALIZER } from "../../../api/resources/batch/labels";
import type { Pod } from "../../../api/resources/core/pod";

export const hasTrackingFinalizer = (pod: Pod) => pod.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER) ?? false;

export const isTerminal = (pod: Pod) => pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";

/** Neither finished nor being deleted: what status.active counts. */
export const isActive = (pod: Pod) => !isTerminal(pod) && !pod.metadata.deletionTimestamp;

/** Being deleted but not finished yet: what status.terminating counts. */
export const isTerminating = (pod: Pod) => !isTerminal(pod) && !!pod.metadata.deletionTimestamp;

/**
 * A pod that failed: phase Failed, or deleted without succeeding once no kubelet will report on
 * it any more (deleted with grace 0, which the kubelet does only after writing the pod's final
 * status, or never bound to a node).
 */
export const isFailed = (pod: Pod) =>
  pod.status?.phase === "Failed" ||
  (!!pod.metadata.deletionTimestamp && pod.status?.phase !== "Succeeded" && (pod.metadata.deletionGracePeriodSeconds === 0 || !pod.spec?.nodeName));

/** The pod's completion index (Indexed Jobs), or undefined when absent or malformed. */
export function completionIndexOf(pod: Pod): number | undefined {
  const v = pod.metadata.annotations?.[JOB_LABELS.completionIndex] ?? pod.metadata.labels?.[JOB_LABELS.completionIndex];
  if (v === undefined || !/^(0|[1-9][0-9]*)$/.test(v)) return undefined;
  return Number(v);
}

/** The annotated count of earlier failures of this pod's index (backoffLimitPerIndex). */
export function indexFailureCountOf(pod: Pod): number {
  const v = Number(pod.metadata.annotations?.[JOB_LABELS.indexFailureCount] ?? 0);
  return Number.isInteger(v) && v >= 0 ? v : 0;
}

/** When the pod finished, in ms since the epoch: its last container's end, else now. */
export function finishedAt(pod: Pod, now: number): number {
  let latest = 0;
  for (const s of [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])]) {
    const t = s.state?.terminated?.finishedAt ? Date.parse(s.state.terminated.finishedAt) : NaN;
    if (!Number.isNaN(t) && t > latest) latest = t;
  }
  return latest || now;
}

export interface PolicyMatch {
  action: string;
  /** The FailJob message, in upstream's words. */
  message: string;
}

/**
 * The first rule of spec.podFailurePolicy that a failed pod matches, as upstream's
 * matchPodFailurePolicy: exit codes of terminated containers (0 never matches), or pod
 * conditions of the given type and status. Rules with an action this controller does not
 * know are skipped.
 */
export function matchPodFailurePolicy(job: Job, pod: Pod): PolicyMatch | undefined {
  const rules = job.spec?.podFailurePolicy?.rules ?? [];
  const podName = `${pod.metadata.namespace}/${pod.metadata.name}`;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    if (!["FailJob", "FailIndex", "Ignore", "Count"].includes(rule.action)) continue;
    if (rule.onExitCodes) {
      const exit = matchingExitCode(rule, pod);
      if (exit) return { action: rule.action, message: `Container ${exit.container} for pod ${podName} failed with exit code ${exit.code} matching ${rule.action} rule at index ${i}` };
    } else if (rule.onPodConditions?.length) {
      for (const pattern of rule.onPodConditions) {
        const c = pod.status?.conditions?.find((c) => c.type === pattern.type && c.status === (pattern.status ?? "True"));
        if (c) return { action: rule.action, message: `Pod ${podName} has condition ${c.type} matching ${rule.action} rule at index ${i}` };
      }
    }
  }
  return undefined;
}

function matchingExitCode(rule: PodFailurePolicyRule, pod: Pod): { container: string; code: number } | undefined {
  const req = rule.onExitCodes!;
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const s of statuses) {
    if (req.containerName !== undefined && req.containerName !== s.name) continue;
    const code = s.state?.terminated?.exitCode;
    if (code === undefined || code === 0) continue;
    const listed = req.values.includes(code);
    if ((req.operator === "In" && listed) || (req.operator === "NotIn" && !listed)) return { container: s.name, code };
  }
  return undefined;
}

/** Container restarts of running and pending pods: what restartPolicy OnFailure spends of backoffLimit. */
export function restartsOfActive(pods: Pod[]): number {
  let n = 0;
  for (const p of pods) {
    if (p.status?.phase !== "Running" && p.status?.phase !== "Pending") continue;
    for (const s of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) n += s.restartCount ?? 0;
  }
  return n;
}
