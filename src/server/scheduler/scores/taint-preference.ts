// PreferNoSchedule: each such taint the pod does not tolerate counts against the node; the counts
// are normalized in reverse (no such taints = 100). Weight 3, as upstream's TaintToleration score.
import { toleratesTaint } from "../match";
import type { Score } from "../types";
import { normalizeToMax } from "./normalize";

export const taintPreference: Score = {
  name: "TaintToleration",
  weight: 3,
  score(pod, node) {
    let count = 0;
    for (const taint of node.taints) {
      if (taint.effect !== "PreferNoSchedule") continue;
      // Only tolerations that could apply to PreferNoSchedule count (empty effect or that effect).
      if (!pod.tolerations.some((t) => (!t.effect || t.effect === "PreferNoSchedule") && toleratesTaint(t, taint))) count++;
    }
    return count;
  },
  normalize: (scores, count) => normalizeToMax(scores, count, true),
};
