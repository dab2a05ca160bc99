// NoSchedule and NoExecute taints keep pods off unless tolerated; the first untolerated taint is
// named in the reason, as upstream's TaintToleration filter does. PreferNoSchedule is a score.
import { tolerated } from "../match";
import type { Filter } from "../types";

export const taintToleration: Filter = {
  name: "TaintToleration",
  filter(pod, node) {
    for (const taint of node.taints) {
      if (taint.effect !== "NoSchedule" && taint.effect !== "NoExecute") continue;
      if (!tolerated(pod.tolerations, taint)) return [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`];
    }
    return undefined;
  },
};
