// The `spread` policy: Kubernetes' LeastAllocated, the mirror of bin-packing. The emptiest
// node wins, which evens load and limits how many pods one node failure takes down.
import { allocatedFraction } from "./binpack";
import type { Score } from "../types";

export const leastAllocated: Score = {
  name: "LeastAllocated",
  weight: 1,
  score: (pod, node) => (1 - allocatedFraction(pod, node)) * 100,
};
