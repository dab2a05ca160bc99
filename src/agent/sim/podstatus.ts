// The status a simulated node writes for its pods: what upstream's kubelet reports for a pod
// whose containers started and are ready, and, on graceful deletion, for containers that
// stopped. Pure functions of (pod, addresses, time).
import type { ContainerStatus, Pod, PodStatus } from "../../api/resources/core/pod";
import { metaTime } from "../node/conditions";

type PodCondition = NonNullable<PodStatus["conditions"]>[number];

const sha256 = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");
export const simContainerID = (podUid: string, container: string) => `sim://${sha256(`${podUid}/${container}`)}`;
const imageID = (image: string) => `sim://sha256:${sha256(image)}`;

const isTerminal = (pod: Pod) => pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";

/** Whether the pod already shows what runningStatus would write (so no write is needed). */
export function looksRunning(pod: Pod): boolean {
  const st = pod.status;
  if (st?.phase !== "Running" || !st.podIP || !st.hostIP) return false;
  // A pod the node lifecycle controller marked lost (reason NodeLost) while this node was
  // unreachable shows that reason until its node reports it running again.
  if (st.reason || st.message) return false;
  if (!st.conditions?.some((c) => c.type === "Ready" && c.status === "True")) return false;
  const statuses = st.containerStatuses ?? [];
  const containers = pod.spec?.containers ?? [];
  const ephemeral = pod.spec?.ephemeralContainers ?? [];
  return (
    statuses.length === containers.length &&
    statuses.every((c) => c.ready && c.state?.running) &&
    (st.ephemeralContainerStatuses ?? []).length === ephemeral.length
  );
}

/** Whether the pod needs anything from its node: to start, or to be stopped and removed. */
export function needsWork(pod: Pod): boolean {
  if (pod.metadata.deletionTimestamp) return true;
  return !isTerminal(pod) && !looksRunning(pod);
}

export const hasRunningContainers = (pod: Pod) => [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].some((c) => c.state?.running);

/** Keeps a condition's lastTransitionTime while its status holds, as the kubelet does. */
function condition(pod: Pod, type: string, status: "True" | "False", now: string, reason?: string): PodCondition {
  const before = pod.status?.conditions?.find((c) => c.type === type);
  const since = before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : now;
  return { type, status, lastProbeTime: null, lastTransitionTime: since, ...(reason ? { reason } : {}) };
}

export interface PodAddresses {
  podIP: string;
  hostIP: string;
}

/**
 * The merge patch that writes runningStatus: a kubelet reports the whole status, so a reason
 * and message someone else set (NodeLost while the node was unreachable) are cleared.
 */
export function runningStatusPatch(pod: Pod, addr: PodAddresses, now: Date) {
  return { ...runningStatus(pod, addr, now), reason: null, message: null };
}

export function runningStatus(pod: Pod, addr: PodAddresses, now: Date): PodStatus {
  const t = metaTime(now);
  const st = pod.status ?? {};
  const uid = pod.metadata.uid ?? "";
  const startTime = st.startTime ?? t;
  const previous = new Map((st.containerStatuses ?? []).map((c) => [c.name, c]));
  const containerStatuses: ContainerStatus[] = (pod.spec?.containers ?? []).map((c) => ({
    name: c.name,
    state: { running: { startedAt: previous.get(c.name)?.state?.running?.startedAt ?? t } },
    lastState: {},
    ready: true,
    restartCount: previous.get(c.name)?.restartCount ?? 0,
    image: c.image ?? "",
    imageID: imageID(c.image ?? ""),
    containerID: simContainerID(uid, c.name),
    started: true,
  }));
  // Init containers ran to completion before the app containers started; sidecars
  // (restartPolicy Always) keep running next to them.
  const initContainerStatuses: ContainerStatus[] = (pod.spec?.initContainers ?? []).map((c) => {
    const containerID = simContainerID(uid, c.name);
    const sidecar = c.restartPolicy === "Always";
    return {
      name: c.name,
      state: sidecar ? { running: { startedAt: startTime } } : { terminated: { exitCode: 0, reason: "Completed", startedAt: startTime, finishedAt: startTime, containerID } },
      lastState: {},
      ready: true,
      restartCount: 0,
      image: c.image ?? "",
      imageID: imageID(c.image ?? ""),
      containerID,
      started: sidecar,
    };
  });
  // Ephemeral containers (kubectl debug) run once started and are never ready: they have no probes.
  const previousEphemeral = new Map((st.ephemeralContainerStatuses ?? []).map((c) => [c.name, c]));
  const ephemeralContainerStatuses: ContainerStatus[] = (pod.spec?.ephemeralContainers ?? []).map((c) => ({
    name: c.name,
    state: { running: { startedAt: previousEphemeral.get(c.name)?.state?.running?.startedAt ?? t } },
    lastState: {},
    ready: false,
    restartCount: 0,
    image: c.image ?? "",
    imageID: imageID(c.image ?? ""),
    containerID: simContainerID(uid, c.name),
  }));
  const scheduled = st.conditions?.find((c) => c.type === "PodScheduled") ?? { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: t };
  return {
    phase: "Running",
    conditions: [
      condition(pod, "PodReadyToStartContainers", "True", t),
      condition(pod, "Initialized", "True", t),
      condition(pod, "Ready", "True", t),
      condition(pod, "ContainersReady", "True", t),
      scheduled,
    ],
    hostIP: addr.hostIP,
    hostIPs: [{ ip: addr.hostIP }],
    podIP: addr.podIP,
    podIPs: [{ ip: addr.podIP }],
    startTime,
    containerStatuses,
    ...(initContainerStatuses.length ? { initContainerStatuses } : {}),
    ...(ephemeralContainerStatuses.length ? { ephemeralContainerStatuses } : {}),
  };
}

/**
 * After a graceful stop: every running container exited 0 on SIGTERM, the pod is no longer
 * ready, and its phase is terminal (Succeeded, since all exited 0), as upstream's kubelet
 * reports before it deletes the pod.
 */
export function stoppedStatus(pod: Pod, now: Date): PodStatus {
  const t = metaTime(now);
  const stop = (c: ContainerStatus): ContainerStatus =>
    c.state?.running
      ? { ...c, state: { terminated: { exitCode: 0, reason: "Completed", startedAt: c.state.running.startedAt ?? t, finishedAt: t, containerID: c.containerID } }, ready: false, started: false }
      : c;
  const st = pod.status ?? {};
  return {
    phase: "Succeeded",
    conditions: (st.conditions ?? []).map((c) =>
      c.type === "Ready" || c.type === "ContainersReady" || c.type === "PodReadyToStartContainers" ? condition(pod, c.type, "False", t, c.type === "PodReadyToStartContainers" ? undefined : "PodCompleted") : c,
    ),
    containerStatuses: (st.containerStatuses ?? []).map(stop),
    ...(st.initContainerStatuses ? { initContainerStatuses: st.initContainerStatuses.map(stop) } : {}),
    ...(st.ephemeralContainerStatuses ? { ephemeralContainerStatuses: st.ephemeralContainerStatuses.map(stop) } : {}),
  };
}
