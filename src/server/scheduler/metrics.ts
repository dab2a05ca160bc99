// kube-scheduler's attempt metrics, with upstream's names, labels and buckets.
import { exponentialBuckets, metrics } from "../../machinery/prometheus";

/** scheduled, unschedulable (no node fits; preemption may follow), or error (the bind failed). */
export type AttemptResult = "scheduled" | "unschedulable" | "error";

const attempts = metrics.counter("scheduler_schedule_attempts_total", "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.", ["result", "profile"]);
const duration = metrics.histogram("scheduler_scheduling_attempt_duration_seconds", "Scheduling attempt latency in seconds (scheduling algorithm + binding)", ["result", "profile"], exponentialBuckets(0.001, 2, 15));

export function recordAttempt(result: AttemptResult, profile: string, startMs: number) {
  const labels = [result, profile];
  attempts.inc(labels);
  duration.observeSince(labels, startMs);
}
