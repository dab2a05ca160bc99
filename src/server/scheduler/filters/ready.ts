// Only Ready nodes take new pods. A pod that tolerates the taint the node lifecycle controller
// puts on such a node (not-ready for Ready=False, unreachable for Unknown) may still go there,
// which is how DaemonSet pods land on nodes that are still coming up.
import { tolerated } from "../match";
import type { Filter } from "../types";

const NOT_READY = ["node(s) were not ready"] as const;

export const nodeReady: Filter = {
  name: "NodeReady",
  filter(pod, node) {
    if (node.ready === "True") return undefined;
    const key = node.ready === "False" ? "node.kubernetes.io/not-ready" : "node.kubernetes.io/unreachable";
    return tolerated(pod.tolerations, { key, effect: "NoSchedule" }) ? undefined : NOT_READY;
  },
};
