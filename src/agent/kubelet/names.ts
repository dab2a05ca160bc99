// How the kubelet names and labels containers, and reads those labels back. The name follows
// dockershim's `k8s_<container>_<pod>_<namespace>_<uid>_<attempt>` so `docker ps` stays readable.
import type { Pod } from "../../api/resources/pod";
import { LABELS, type ContainerInfo } from "../runtime/runtime";

export const PAUSE_NAME = "POD";
export const NODE_LABEL = "io.bramble.node";

export type ContainerKind = "pause" | "init" | "app";

export function containerName(pod: Pod, name: string, attempt: number): string {
  return `k8s_${name}_${pod.metadata.name}_${pod.metadata.namespace}_${pod.metadata.uid}_${attempt}`;
}

export function containerLabels(pod: Pod, nodeName: string, name: string, kind: ContainerKind, attempt: number, streak: number, specHash: string): Record<string, string> {
  return {
    [LABELS.managed]: "true",
    [NODE_LABEL]: nodeName,
    [LABELS.podUid]: pod.metadata.uid!,
    [LABELS.podName]: pod.metadata.name!,
    [LABELS.podNamespace]: pod.metadata.namespace ?? "default",
    [LABELS.container]: name,
    [LABELS.kind]: kind,
    [LABELS.restartCount]: String(attempt),
    [LABELS.backoffStreak]: String(streak),
    [LABELS.specHash]: specHash,
    [LABELS.gracePeriod]: String(pod.spec?.terminationGracePeriodSeconds ?? 30),
  };
}

export const attemptOf = (c: ContainerInfo) => Number(c.labels[LABELS.restartCount] ?? 0);
export const streakOf = (c: ContainerInfo) => Number(c.labels[LABELS.backoffStreak] ?? 0);
export const kindOf = (c: ContainerInfo) => c.labels[LABELS.kind] as ContainerKind | undefined;
export const nameOf = (c: ContainerInfo) => c.labels[LABELS.container] ?? "";

/** A pod's containers grouped by container name, newest attempt first. */
export function groupAttempts(containers: ContainerInfo[], kind: ContainerKind): Map<string, ContainerInfo[]> {
  const out = new Map<string, ContainerInfo[]>();
  for (const c of containers.filter((c) => kindOf(c) === kind)) {
    const list = out.get(nameOf(c)) ?? [];
    list.push(c);
    out.set(nameOf(c), list);
  }
  for (const list of out.values()) list.sort((a, b) => attemptOf(b) - attemptOf(a) || b.createdAt.localeCompare(a.createdAt));
  return out;
}

export function specHash(spec: unknown): string {
  return new Bun.CryptoHasher("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 16);
}
