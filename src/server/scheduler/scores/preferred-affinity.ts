// Preferred node affinity: a node earns the weights of the preference terms it matches;
// normalized so the best node gets 100. Weight 2, as upstream's default profile gives NodeAffinity.
import { termMatches } from "../match";
import type { Score } from "../types";
import { normalizeToMax } from "./normalize";

export const preferredNodeAffinity: Score = {
  name: "NodeAffinity",
  weight: 2,
  applies: (pod) => !!pod.preferredTerms,
  score(pod, node) {
    let sum = 0;
    for (const p of pod.preferredTerms ?? []) if (p.weight && termMatches(p.preference, node)) sum += p.weight;
    return sum;
  },
  normalize: (scores, count) => normalizeToMax(scores, count),
};
