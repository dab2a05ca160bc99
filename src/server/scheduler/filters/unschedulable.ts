// Cordoned nodes (`spec.unschedulable`, set by `kubectl cordon`) take no new pods, unless the pod
// tolerates the unschedulable taint, as upstream's NodeUnschedulable plugin allows.
import { tolerated } from "../match";
import type { Filter } from "../types";

const UNSCHEDULABLE = ["node(s) were unschedulable"] as const;
const TAINT = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };

export const nodeUnschedulable: Filter = {
  name: "NodeUnschedulable",
  filter: (pod, node) => (node.unschedulable && !tolerated(pod.tolerations, TAINT) ? UNSCHEDULABLE : undefined),
};
