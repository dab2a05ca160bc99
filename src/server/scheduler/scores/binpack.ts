// Bin-packing: Kubernetes' MostAllocated. The node whose cpu and memory would be fullest after
// placing the pod scores highest, so pods fill nodes before new ones are touched and whole
// nodes stay free (for big pods, or to be powered off on a small site).
//
// Why MostAllocated rather than Nomad's BestFit (20 - 10^freeCpu - 10^freeMem): both prefer
// the fullest node; MostAllocated does it on the same linear 0..100 scale as every other score
// here, so its weight against preferred affinity and PreferNoSchedule means what upstream's
// does, and `spread` (LeastAllocated) is its exact mirror. BestFit's exponential favours
// balanced-full nodes more sharply, which the packing benchmark showed no need for.
//
// Pods that request nothing count as 100m / 200Mi here (upstream's non-zero defaults), so
// best-effort pods do not all land on one node that looks empty forever.
import type { NodeInfo, PodInfo, Score } from "../types";

export const CPU_WEIGHT = 1;
export const MEMORY_WEIGHT = 1;

/** Fraction (0..1) of `capacity` that `requested` uses, capped: default requests can overshoot. */
const used = (requested: number, capacity: number) => (capacity <= 0 ? 1 : Math.min(requested / capacity, 1));

export function allocatedFraction(pod: PodInfo, node: NodeInfo): number {
  const cpu = used(node.scoreCpu + pod.scoreCpu, node.allocatable.cpu);
  const memory = used(node.scoreMemory + pod.scoreMemory, node.allocatable.memory);
  return (cpu * CPU_WEIGHT + memory * MEMORY_WEIGHT) / (CPU_WEIGHT + MEMORY_WEIGHT);
}

export const mostAllocated: Score = {
  name: "MostAllocated",
  weight: 1,
  score: (pod, node) => allocatedFraction(pod, node) * 100,
};
