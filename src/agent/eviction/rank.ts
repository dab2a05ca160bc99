// Which pod goes first, as upstream's eviction manager orders them (pkg/kubelet/eviction/helpers.go):
//   memory: pods using more than they requested, then lower priority, then usage above requests;
//   disk:   the same with ephemeral-storage requests and local disk usage (volumes on nodefs,
//           writable layers on imagefs);
//   pids:   lower priority, then more processes.
// QoS falls out of this: a BestEffort pod requests nothing, so any use exceeds its requests. Critical
// pods (static or mirror pods, priority ≥ system-critical) are never candidates.
import type { Pod } from "../../api/resources/core/pod";
import { parseQuantity, quantityValue } from "../../api/quantity";

/** scheduling.SystemCriticalPriority: system-cluster-critical and system-node-critical are at or above it. */
export const SYSTEM_CRITICAL_PRIORITY = 2_000_000_000;

export type Resource = "memory" | "ephemeral-storage" | "pids";

export interface ContainerUsage {
  name: string;
  /** Working set bytes. */
  memory?: number;
}

export interface PodUsage {
  pod: Pod;
  /** Working set bytes of the pod's containers. */
  memory?: number;
  /** Bytes of the pod's local volumes (emptyDir and the pod's own files) on the node. */
  disk?: number;
  /** Processes (tasks) in the pod's containers. */
  pids?: number;
  containers?: ContainerUsage[];
}

/** kubelettypes.IsCriticalPod: static, mirror, or system-critical priority. */
export function isCriticalPod(pod: Pod): boolean {
  const a = pod.metadata.annotations ?? {};
  if (a["kubernetes.io/config.mirror"] !== undefined) return true;
  if (a["kubernetes.io/config.source"] !== undefined && a["kubernetes.io/config.source"] !== "api") return true;
  return (pod.spec?.priority ?? 0) >= SYSTEM_CRITICAL_PRIORITY;
}

/** Sum of the app containers' requests for a resource (bytes). */
export function podRequest(pod: Pod, resource: "memory" | "ephemeral-storage"): number {
  let sum = 0;
  for (const c of pod.spec?.containers ?? []) {
    const q = c.resources?.requests?.[resource];
    if (q !== undefined) sum += quantityValue(parseQuantity(String(q)));
  }
  return sum;
}

type Cmp = (a: PodUsage, b: PodUsage) => number;

const byPriority: Cmp = (a, b) => (a.pod.spec?.priority ?? 0) - (b.pod.spec?.priority ?? 0);

function exceeds(resource: "memory" | "ephemeral-storage", use: (p: PodUsage) => number | undefined): Cmp {
  return (a, b) => {
    const ea = (use(a) ?? 0) > podRequest(a.pod, resource);
    const eb = (use(b) ?? 0) > podRequest(b.pod, resource);
    return ea === eb ? 0 : ea ? -1 : 1;
  };
}

function aboveRequest(resource: "memory" | "ephemeral-storage", use: (p: PodUsage) => number | undefined): Cmp {
  return (a, b) => (use(b) ?? 0) - podRequest(b.pod, resource) - ((use(a) ?? 0) - podRequest(a.pod, resource));
}

const chain =
  (...cmps: Cmp[]): Cmp =>
  (a, b) => {
    for (const c of cmps) {
      const r = c(a, b);
      if (r) return r;
    }
    return 0;
  };

const RANKERS: Record<Resource, Cmp> = {
  memory: chain(exceeds("memory", (p) => p.memory), byPriority, aboveRequest("memory", (p) => p.memory)),
  "ephemeral-storage": chain(exceeds("ephemeral-storage", (p) => p.disk), byPriority, aboveRequest("ephemeral-storage", (p) => p.disk)),
  pids: chain(byPriority, (a, b) => (b.pids ?? 0) - (a.pids ?? 0)),
};

/** Candidates in eviction order, critical pods left out. */
export function rankForEviction(pods: PodUsage[], resource: Resource): PodUsage[] {
  return pods.filter((p) => !isCriticalPod(p.pod)).sort(RANKERS[resource]);
}
