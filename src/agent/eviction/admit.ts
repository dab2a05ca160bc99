// Whether a new pod may start on a node under pressure (upstream's eviction manager Admit):
// critical pods always; under memory pressure alone, pods that are not BestEffort, and BestEffort
// ones that tolerate the memory-pressure taint; under any other pressure, none. A rejected pod
// ends Failed with reason Evicted and "Pod was rejected: The node had condition: [...]".
import type { Pod } from "../../api/resources/core/pod";
import type { PressureCondition } from "../node/conditions";
import { isCriticalPod } from "./rank";
import { EVICTED_REASON } from "./message";

const MEMORY_PRESSURE_TAINT = { key: "node.kubernetes.io/memory-pressure", effect: "NoSchedule" };

export function admitPod(pod: Pod, conditions: readonly PressureCondition[]): { reason: string; message: string } | undefined {
  if (!conditions.length || isCriticalPod(pod)) return undefined;
  if (conditions.length === 1 && conditions[0] === "MemoryPressure") {
    if (!isBestEffort(pod)) return undefined;
    const tolerated = (pod.spec?.tolerations ?? []).some(
      (t) => (!t.effect || t.effect === MEMORY_PRESSURE_TAINT.effect) && (t.key ? t.key === MEMORY_PRESSURE_TAINT.key && (t.operator === "Exists" || !t.value) : t.operator === "Exists"),
    );
    if (tolerated) return undefined;
  }
  return { reason: EVICTED_REASON, message: `Pod was rejected: The node had condition: [${conditions.join(" ")}]. ` };
}

/** The API server sets status.qosClass on create; a pod without it is BestEffort when nothing asks for cpu or memory. */
function isBestEffort(pod: Pod): boolean {
  if (pod.status?.qosClass) return pod.status.qosClass === "BestEffort";
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  return !all.some((c) => ["cpu", "memory"].some((r) => c.resources?.requests?.[r] !== undefined || c.resources?.limits?.[r] !== undefined));
}
