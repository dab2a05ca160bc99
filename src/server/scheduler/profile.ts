// The filter and score chains for a policy. Filters run in upstream's plugin order, and a node
// stops at its first failing filter, so the reasons in a FitError match what upstream reports.
import { hostPorts } from "./filters/host-ports";
import { interPodAffinity } from "./filters/inter-pod-affinity";
import { nodeAffinity } from "./filters/node-affinity";
import { nodeReady } from "./filters/ready";
import { resourcesFit } from "./filters/resources-fit";
import { taintToleration } from "./filters/taints";
import { topologySpread } from "./filters/topology-spread";
import { nodeUnschedulable } from "./filters/unschedulable";
import { volumeBinding } from "./filters/volume-binding";
import { mostAllocated } from "./scores/binpack";
import { preferredNodeAffinity } from "./scores/preferred-affinity";
import { leastAllocated } from "./scores/spread";
import { taintPreference } from "./scores/taint-preference";
import { topologySpreadScore } from "./scores/topology-spread";
import type { Filter, Score } from "./types";

export type SchedulingPolicy = "binpack" | "spread";

export interface Profile {
  readonly filters: readonly Filter[];
  readonly scores: readonly Score[];
}

export const FILTERS: readonly Filter[] = [nodeReady, nodeUnschedulable, taintToleration, nodeAffinity, hostPorts, resourcesFit, volumeBinding, topologySpread, interPodAffinity];

export function profileFor(policy: SchedulingPolicy): Profile {
  const fit = policy === "spread" ? leastAllocated : mostAllocated;
  return { filters: FILTERS, scores: [fit, preferredNodeAffinity, taintPreference, topologySpreadScore] };
}
