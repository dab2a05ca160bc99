// Requests against allocatable minus what the node's pods (bound and assumed) already request.
// Every resource that does not fit is reported, in upstream's order and words
// ("Too many pods", "Insufficient cpu", "Insufficient memory", "Insufficient <name>").
import type { Filter } from "../types";

export const resourcesFit: Filter = {
  name: "NodeResourcesFit",
  filter(pod, node) {
    const want = pod.requests;
    const have = node.allocatable;
    const used = node.requested;
    let reasons: string[] | undefined;
    if (used.pods + 1 > have.pods) (reasons ??= []).push("Too many pods");
    if (want.cpu > 0 && used.cpu + want.cpu > have.cpu) (reasons ??= []).push("Insufficient cpu");
    if (want.memory > 0 && used.memory + want.memory > have.memory) (reasons ??= []).push("Insufficient memory");
    for (const name in want.scalar) {
      const amount = want.scalar[name];
      if (amount > 0 && (used.scalar[name] ?? 0) + amount > (have.scalar[name] ?? 0)) (reasons ??= []).push(`Insufficient ${name}`);
    }
    return reasons;
  },
  // Evicting pods frees their requests, unless the pod asks for more than the node has at all
  // (upstream's Unresolvable insufficient resource).
  resolvable(_reasons, pod, node) {
    const want = pod.requests;
    const have = node.allocatable;
    if (have.pods < 1 || want.cpu > have.cpu || want.memory > have.memory) return false;
    for (const name in want.scalar) if (want.scalar[name] > (have.scalar[name] ?? 0)) return false;
    return true;
  },
};
