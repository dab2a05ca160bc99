// Node conditions as the kubelet reports them: the four standard types with upstream's reasons
// and messages, lastTransitionTime kept while a status holds and lastHeartbeatTime set on every
// report. Callers only say what is wrong (e.g. "Docker is unreachable", or the eviction
// manager's measured memory, disk or PID pressure); everything else is the healthy default, so
// a simulated node and a healthy real one report identical conditions.
import type { NodeCondition } from "../../api/resources/core/node";

export type NodeConditionType = "MemoryPressure" | "DiskPressure" | "PIDPressure" | "Ready";

export interface ConditionReport {
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

/** Deviations from a healthy node; absent types are healthy. */
export type NodeHealth = Partial<Record<NodeConditionType, ConditionReport>>;

/** Upstream's order and wording (pkg/kubelet/nodestatus/setters.go). */
export const HEALTHY: Record<NodeConditionType, ConditionReport> = {
  MemoryPressure: { status: "False", reason: "KubeletHasSufficientMemory", message: "kubelet has sufficient memory available" },
  DiskPressure: { status: "False", reason: "KubeletHasNoDiskPressure", message: "kubelet has no disk pressure" },
  PIDPressure: { status: "False", reason: "KubeletHasSufficientPID", message: "kubelet has sufficient PID available" },
  Ready: { status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" },
};

export type PressureCondition = "MemoryPressure" | "DiskPressure" | "PIDPressure";

/** Upstream's reasons and messages when a pressure condition is True (same setters.go). */
export const PRESSURE: Record<PressureCondition, ConditionReport> = {
  MemoryPressure: { status: "True", reason: "KubeletHasInsufficientMemory", message: "kubelet has insufficient memory available" },
  DiskPressure: { status: "True", reason: "KubeletHasDiskPressure", message: "kubelet has disk pressure" },
  PIDPressure: { status: "True", reason: "KubeletHasInsufficientPID", message: "kubelet has insufficient PID available" },
};

const TYPES = Object.keys(HEALTHY) as NodeConditionType[];

/** metav1.Time: RFC 3339 in UTC, whole seconds. */
export const metaTime = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

/**
 * The conditions to report now. `previous` is what the API server holds: a status that did not
 * change keeps its lastTransitionTime, which is what `kubectl describe node` shows as "since".
 */
export function nodeConditions(health: NodeHealth, previous: readonly NodeCondition[] | undefined, now: Date): NodeCondition[] {
  const t = metaTime(now);
  return TYPES.map((type) => {
    const want = health[type] ?? HEALTHY[type];
    const before = previous?.find((c) => c.type === type);
    const transition = before && before.status === want.status && before.lastTransitionTime ? before.lastTransitionTime : t;
    return { type, status: want.status, lastHeartbeatTime: t, lastTransitionTime: transition, reason: want.reason, message: want.message };
  });
}

/** Same statuses and reasons, times ignored: whether a report would change what others see. */
export function sameConditions(a: readonly NodeCondition[] | undefined, b: readonly NodeCondition[] | undefined): boolean {
  return TYPES.every((type) => {
    const x = a?.find((c) => c.type === type);
    const y = b?.find((c) => c.type === type);
    return x?.status === y?.status && x?.reason === y?.reason && x?.message === y?.message;
  });
}
