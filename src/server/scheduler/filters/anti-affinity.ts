// Required pod anti-affinity on kubernetes.io/hostname, both ways as upstream's InterPodAffinity
// checks it: the incoming pod's terms against the pods on the node, and the terms of pods already
// on the node against the incoming pod.
import type { AntiAffinityTerm, Filter, PodInfo } from "../types";

const OWN_RULES = ["node(s) didn't match pod anti-affinity rules"] as const;
const EXISTING_RULES = ["node(s) didn't satisfy existing pods anti-affinity rules"] as const;

const termSelects = (term: AntiAffinityTerm, owner: PodInfo, other: PodInfo) =>
  other.key !== owner.key && (!term.namespaces || term.namespaces.has(other.namespace)) && term.matches(other.labels);

export const podAntiAffinity: Filter = {
  name: "InterPodAffinity",
  filter(pod, node) {
    for (const term of pod.antiAffinity) for (const other of node.pods) if (termSelects(term, pod, other)) return OWN_RULES;
    for (const other of node.antiAffinityPods) for (const term of other.antiAffinity) if (termSelects(term, other, pod)) return EXISTING_RULES;
    return undefined;
  },
};
