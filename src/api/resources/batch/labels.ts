// Label and annotation keys of batch/v1 Jobs and their pods, as upstream names them.
export const JOB_LABELS = {
  controllerUid: "batch.kubernetes.io/controller-uid",
  legacyControllerUid: "controller-uid",
  jobName: "batch.kubernetes.io/job-name",
  legacyJobName: "job-name",
  /** Label and annotation with a pod's completion index (Indexed Jobs). */
  completionIndex: "batch.kubernetes.io/job-completion-index",
  /** Annotation: how many pods of this index failed before this one (backoffLimitPerIndex). */
  indexFailureCount: "batch.kubernetes.io/job-index-failure-count",
  /** Annotation: failures of this index the pod failure policy ignored. */
  indexIgnoredFailureCount: "batch.kubernetes.io/job-index-ignored-failure-count",
} as const;

/** The finalizer the Job controller puts on its pods until it has counted them. */
export const JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking";

/** spec.managedBy of Jobs the built-in controller reconciles. */
export const JOB_CONTROLLER_NAME = "kubernetes.io/job-controller";
