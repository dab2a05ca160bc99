// The scheduler's only writes: the pods/binding subresource, the PodScheduled condition of a pod
// that fits nowhere, and the events `kubectl describe pod` shows.
import { ApiError } from "../../api/errors";
import type { Pod } from "../../api/resources/core/pod";
import type { ResourceClient } from "../../client/client";
import type { EventRecorder } from "../../client/events";

export const SCHEDULER_COMPONENT = "default-scheduler";

const asPod = (pod: Pod): Pod => ({ ...pod, apiVersion: "v1", kind: "Pod" });
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

export type BindOutcome = "bound" | "lost";

/**
 * Binds optimistically. A 409 means the pod was bound by someone else or is being deleted, and
 * a 404 that it is gone: either way this placement is void ("lost"), not an error to retry.
 */
export async function bindPod(pods: ResourceClient<Pod>, pod: Pod, nodeName: string): Promise<BindOutcome> {
  const { name, namespace } = pod.metadata;
  try {
    await pods.post(namespace, name!, "binding", {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name, namespace },
      target: { apiVersion: "v1", kind: "Node", name: nodeName },
    });
    return "bound";
  } catch (e) {
    if (e instanceof ApiError && (e.code === 409 || e.code === 404)) return "lost";
    throw e;
  }
}

/**
 * Evicts a pod for a more important one, as upstream's preemption: a DisruptionTarget condition
 * saying why, then a plain delete (the pod's own grace period), and a Preempted event.
 */
export async function preemptVictim(pods: ResourceClient<Pod>, events: EventRecorder, schedulerName: string, victim: Pod, preemptor: Pod, nodeName: string) {
  const { namespace, name } = victim.metadata;
  const condition = {
    type: "DisruptionTarget",
    status: "True",
    reason: "PreemptionByScheduler",
    message: `${schedulerName}: preempting to accommodate a higher priority pod`,
    lastTransitionTime: now(),
  };
  try {
    if (!victim.status?.conditions?.some((c) => c.type === "DisruptionTarget" && c.status === "True"))
      await pods.patch(namespace, name!, { status: { conditions: [condition] } }, "strategic", "status");
    await pods.delete(namespace, name!);
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) return; // gone already
    throw e;
  }
  events.event(asPod(victim), "Normal", "Preempted", `Preempted by pod ${preemptor.metadata.uid} on node ${nodeName}`);
}

/** Takes back a nomination that no longer holds (a more important pod preempted on that node). */
export async function clearNomination(pods: ResourceClient<Pod>, pod: Pod) {
  try {
    await pods.patch(pod.metadata.namespace, pod.metadata.name!, { status: { nominatedNodeName: null } }, "merge", "status");
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 404)) throw e;
  }
}

export function recordScheduled(events: EventRecorder, pod: Pod, nodeName: string) {
  events.event(asPod(pod), "Normal", "Scheduled", `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`);
}

/**
 * Sets PodScheduled=False/Unschedulable with the fit message and records FailedScheduling, only
 * when the outcome changed. A retry that fails the same way writes nothing and records nothing:
 * with thousands of waiting pods, a repeat event per retry meant thousands of Event objects (the
 * recorder remembers only so many) and their writes every retry, which an idle server cannot
 * afford in memory or disk wear. The pod's condition says it is still waiting.
 */
export async function recordUnschedulable(pods: ResourceClient<Pod>, events: EventRecorder, pod: Pod, message: string, nominatedNodeName?: string | null) {
  const current = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  // nominatedNodeName: a node name sets it, null clears it, undefined leaves it as it is.
  const nominationChanges = nominatedNodeName !== undefined && (nominatedNodeName ?? "") !== (pod.status?.nominatedNodeName ?? "");
  if (current?.status === "False" && current.reason === "Unschedulable" && current.message === message && !nominationChanges) return;
  events.event(asPod(pod), "Warning", "FailedScheduling", message);
  const condition = { type: "PodScheduled", status: "False", reason: "Unschedulable", message, lastProbeTime: null, lastTransitionTime: now() };
  const status = nominationChanges ? { conditions: [condition], nominatedNodeName } : { conditions: [condition] };
  try {
    await pods.patch(pod.metadata.namespace, pod.metadata.name!, { status }, "strategic", "status");
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) return; // deleted meanwhile
    throw e;
  }
}
