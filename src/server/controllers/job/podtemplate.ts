// The pod a Job creates: its template, owned by the Job, with the tracking finalizer (so the
// pod cannot vanish before the controller has counted it) and, for Indexed Jobs, the completion
// index as annotation, label and JOB_COMPLETION_INDEX variable, and the hostname <job>-<index>.
import type { Job } from "../../../api/resources/batch/job";
import { JOB_LABELS, JOB_TRACKING_FINALIZER } from "../../../api/resources/batch/labels";
import type { Pod } from "../../../api/resources/core/pod";
import { controllerRefTo } from "../ownership";

const MAX_GENERATE_NAME_BASE = 58; // leaves room for the API server's random suffix in 63 characters

const INDEX_ENV = {
  name: "JOB_COMPLETION_INDEX",
  valueFrom: { fieldRef: { fieldPath: `metadata.labels['${JOB_LABELS.completionIndex}']` } },
};

type Container = NonNullable<Pod["spec"]>["containers"][number];

const withIndexEnv = (c: Container): Container =>
  c.env?.some((e) => e.name === INDEX_ENV.name) ? c : ({ ...c, env: [...(c.env ?? []), structuredClone(INDEX_ENV)] } as Container);

export interface PodOptions {
  /** The completion index (Indexed Jobs). */
  index?: number;
  /** Earlier failures of this index (backoffLimitPerIndex): the failure-count annotation. */
  indexFailures?: number;
  indexIgnoredFailures?: number;
}

export function podFromJob(job: Job, opts: PodOptions = {}): Pod {
  const t = job.spec!.template;
  const name = job.metadata.name!;
  const labels: Record<string, string> = { ...(t.metadata?.labels ?? {}) };
  const annotations: Record<string, string> = { ...(t.metadata?.annotations ?? {}) };
  const spec = structuredClone(t.spec) as NonNullable<Pod["spec"]>;
  let generateName = `${name}-`;
  if (opts.index !== undefined) {
    const ix = String(opts.index);
    labels[JOB_LABELS.completionIndex] = ix;
    annotations[JOB_LABELS.completionIndex] = ix;
    if (job.spec!.backoffLimitPerIndex !== undefined) {
      annotations[JOB_LABELS.indexFailureCount] = String(opts.indexFailures ?? 0);
      if (opts.indexIgnoredFailures) annotations[JOB_LABELS.indexIgnoredFailureCount] = String(opts.indexIgnoredFailures);
    }
    spec.hostname = `${name}-${ix}`;
    spec.containers = spec.containers.map(withIndexEnv);
    if (spec.initContainers) spec.initContainers = spec.initContainers.map(withIndexEnv);
    generateName = `${name.slice(0, Math.max(1, MAX_GENERATE_NAME_BASE - ix.length - 1))}-${ix}-`;
  } else if (generateName.length > MAX_GENERATE_NAME_BASE) generateName = `${name.slice(0, MAX_GENERATE_NAME_BASE - 1)}-`;
  const metadata: Pod["metadata"] = {
    generateName,
    namespace: job.metadata.namespace,
    labels,
    finalizers: [...(t.metadata?.finalizers ?? []), JOB_TRACKING_FINALIZER],
    ownerReferences: [controllerRefTo({ apiVersion: "batch/v1", kind: "Job", obj: job })],
  };
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  return { apiVersion: "v1", kind: "Pod", metadata, spec } as Pod;
}
