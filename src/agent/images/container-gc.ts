// Which dead containers may go, by upstream's container GC rules (kuberuntime_gc.go with the
// kubelet's defaults: MaxPerPodContainer 1, MinAge 0): per pod container the newest dead attempt
// stays (`kubectl logs --previous`, and the restart count and crash-loop streak the kubelet reads
// from its labels), older dead attempts go; a pod that is over for good (Succeeded, Failed or
// deleted) may lose all of them. Only exited containers are candidates: a "created" one is the
// kubelet's business (a start under way). Sandboxes of live pods are never touched here either —
// the kubelet replaces and removes them itself.
import { LABELS, type ContainerInfo } from "../runtime/runtime";

export interface ContainerGcRules {
  /** True for this node's containers of this cluster: nothing else on a shared engine is ours to remove. */
  owns(labels: Record<string, string>): boolean;
  /** True for pods that will never run a container again; without it, every pod counts as live. */
  podIsTerminal?(podUid: string): boolean;
  /** A container dead for less than this stays (upstream's --minimum-container-ttl-duration, 0). */
  minimumAgeMs?: number;
  now: number;
}

const attemptOf = (c: ContainerInfo) => Number(c.labels[LABELS.restartCount] ?? 0);
const deadSince = (c: ContainerInfo) => Date.parse(c.finishedAt ?? c.createdAt) || 0;

export function deadContainersToRemove(containers: ContainerInfo[], rules: ContainerGcRules): ContainerInfo[] {
  const groups = new Map<string, ContainerInfo[]>();
  for (const c of containers) {
    const uid = c.labels[LABELS.podUid];
    if (!uid || c.state !== "exited" || !rules.owns(c.labels)) continue;
    const key = `${uid}|${c.labels[LABELS.kind] ?? ""}|${c.labels[LABELS.container] ?? ""}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const out: ContainerInfo[] = [];
  for (const dead of groups.values()) {
    const uid = dead[0]!.labels[LABELS.podUid]!;
    const terminal = rules.podIsTerminal?.(uid) ?? false;
    if (!terminal && dead[0]!.labels[LABELS.kind] === "pause") continue;
    dead.sort((a, b) => attemptOf(b) - attemptOf(a) || b.createdAt.localeCompare(a.createdAt));
    const candidates = terminal ? dead : dead.slice(1);
    out.push(...candidates.filter((c) => rules.now - deadSince(c) >= (rules.minimumAgeMs ?? 0)));
  }
  return out;
}
