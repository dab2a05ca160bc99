// NodeInfo: a node plus the pods on it (bound and assumed), built immutably. Adding or removing
// one pod returns a new NodeInfo and leaves the old one untouched, so snapshots stay valid.
import type { Node } from "../../api/resources/core/node";
import { addResources, nodeAllocatable, ZERO } from "./resources";
import type { NodeInfo, PodInfo, ReadyStatus } from "./types";

function readyOf(node: Node): ReadyStatus {
  const s = node.status?.conditions?.find((c) => c.type === "Ready")?.status;
  return s === "True" || s === "False" ? s : "Unknown";
}

export function buildNodeInfo(node: Node, pods: Iterable<PodInfo> = []): NodeInfo {
  let info: NodeInfo = {
    name: node.metadata.name!,
    node,
    labels: node.metadata.labels ?? {},
    ready: readyOf(node),
    unschedulable: !!node.spec?.unschedulable,
    taints: node.spec?.taints ?? [],
    allocatable: nodeAllocatable(node),
    requested: ZERO,
    scoreCpu: 0,
    scoreMemory: 0,
    usedPorts: [],
    pods: [],
    antiAffinityPods: [],
  };
  for (const p of pods) info = withPod(info, p);
  return info;
}

export function withPod(info: NodeInfo, pod: PodInfo): NodeInfo {
  return {
    ...info,
    requested: addResources(info.requested, pod.requests),
    scoreCpu: info.scoreCpu + pod.scoreCpu,
    scoreMemory: info.scoreMemory + pod.scoreMemory,
    usedPorts: pod.hostPorts.length ? [...info.usedPorts, ...pod.hostPorts] : info.usedPorts,
    pods: [...info.pods, pod],
    antiAffinityPods: pod.antiAffinity.length ? [...info.antiAffinityPods, pod] : info.antiAffinityPods,
  };
}

/** Rebuilds from the remaining pods: exact, and cheap at tens of pods per node. */
export function withoutPod(info: NodeInfo, key: string): NodeInfo {
  if (!info.pods.some((p) => p.key === key)) return info;
  return buildNodeInfo(
    info.node,
    info.pods.filter((p) => p.key !== key),
  );
}
