// Job conditions and the reasons and messages upstream's Job controller writes with them.
import type { Job, JobCondition } from "../../../api/resources/batch/job";

export type Conditions = JobCondition[];

export const isTrue = (conds: Conditions | undefined, type: string) => conds?.some((c) => c.type === type && c.status === "True") ?? false;

export const findCondition = (conds: Conditions | undefined, type: string) => conds?.find((c) => c.type === type);

/** A Job is finished once it has a Complete or Failed condition that is True. */
export const isFinished = (job: Job) => isTrue(job.status?.conditions, "Complete") || isTrue(job.status?.conditions, "Failed");

/** Sets a condition; a change of status moves lastTransitionTime, the same status keeps it. */
export function setCondition(conds: Conditions, type: string, status: "True" | "False", reason: string, message: string, now: string): Conditions {
  const existing = conds.find((c) => c.type === type);
  if (existing && existing.status === status && existing.reason === reason && existing.message === message) return conds;
  const next: JobCondition = {
    type,
    status,
    lastProbeTime: now,
    lastTransitionTime: existing && existing.status === status ? existing.lastTransitionTime : now,
    reason,
    message,
  };
  return existing ? conds.map((c) => (c === existing ? next : c)) : [...conds, next];
}

/** Why a Job fails or succeeds: the interim condition, then the terminal one with the same words. */
export interface Verdict {
  /** FailureTarget → Failed, SuccessCriteriaMet → Complete. */
  interim: "FailureTarget" | "SuccessCriteriaMet";
  reason: string;
  message: string;
}

export const VERDICTS = {
  backoffLimit: { interim: "FailureTarget", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" },
  deadline: { interim: "FailureTarget", reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" },
  maxFailedIndexes: { interim: "FailureTarget", reason: "MaxFailedIndexesExceeded", message: "Job has exceeded the specified maximal number of failed indexes" },
  failedIndexes: { interim: "FailureTarget", reason: "FailedIndexes", message: "Job has failed indexes" },
  completions: { interim: "SuccessCriteriaMet", reason: "CompletionsReached", message: "Reached expected number of succeeded pods" },
} satisfies Record<string, Verdict>;

export const podFailurePolicyVerdict = (message: string): Verdict => ({ interim: "FailureTarget", reason: "PodFailurePolicy", message });
export const successPolicyVerdict = (rule: number): Verdict => ({ interim: "SuccessCriteriaMet", reason: "SuccessPolicy", message: `Matched rules at index ${rule}` });

/** The verdict already recorded on the Job, if any. */
export function recordedVerdict(job: Job): Verdict | undefined {
  for (const interim of ["FailureTarget", "SuccessCriteriaMet"] as const) {
    const c = findCondition(job.status?.conditions, interim);
    if (c?.status === "True") return { interim, reason: c.reason ?? "", message: c.message ?? "" };
  }
  return undefined;
}
