// nodeSelector (every label equal) and required node affinity (terms ORed, expressions ANDed),
// reported together under upstream's one reason, as its NodeAffinity plugin does.
import { anyTermMatches } from "../match";
import type { Filter } from "../types";

const MISMATCH = ["node(s) didn't match Pod's node affinity/selector"] as const;

export const nodeAffinity: Filter = {
  name: "NodeAffinity",
  applies: (pod) => !!pod.nodeSelector || !!pod.requiredTerms,
  filter(pod, node) {
    if (pod.nodeSelector) for (const [k, v] of Object.entries(pod.nodeSelector)) if (!Object.hasOwn(node.labels, k) || node.labels[k] !== v) return MISMATCH;
    if (pod.requiredTerms && !anyTermMatches(pod.requiredTerms, node)) return MISMATCH;
    return undefined;
  },
};
