// How the kubelet names and labels containers, and reads those labels back. The name follows
// dockershim's `k8s_<container>_<pod>_<namespace>_<uid>_<attempt>` so `docker ps` stays readable.
import type { Pod } from "../../api/resources/core/pod";
import { caCertHashOfPem } from "../join/pin";
import { LABELS, type ContainerInfo } from "../runtime/runtime";

export const PAUSE_NAME = "POD";
export const NODE_LABEL = "io.bramble.node";

/**
 * A cluster's identity on a container: the hash of its CA's public key, the `sha256:` value of
 * `--ca-cert-hash`. Every agent holds the CA before it makes its first API call (a joined one
 * pinned it, the embedded one is handed it), so none needs a permission or a server library to
 * learn it; it is unique per cluster (each `bramble server` data dir makes its own CA key) and
 * stable for the cluster's life (renewing the CA certificate with the same key keeps it).
 */
export const clusterIdOf = (caCertPem: string) => caCertHashOfPem(caCertPem);

/** Which node of which cluster a kubelet is. */
export interface Owner {
  nodeName: string;
  clusterId: string;
}

/**
 * Whose a bramble container is, from its labels: "ours" (this node of this cluster), "theirs"
 * (another node, or another cluster, on the same engine: never touched), or "stray" (made by
 * bramble for no pod). A container from before clusters were labelled has no cluster label:
 * the node name alone decides, as it did when it was made.
 */
export function ownership(labels: Record<string, string>, me: Owner): "ours" | "theirs" | "stray" {
  const cluster = labels[LABELS.cluster];
  if (cluster !== undefined && cluster !== me.clusterId) return "theirs";
  const node = labels[NODE_LABEL];
  if (node !== undefined && node !== me.nodeName) return "theirs";
  return node === undefined || !labels[LABELS.podUid] ? "stray" : "ours";
}

export type ContainerKind = "pause" | "init" | "app" | "ephemeral";

export function containerName(pod: Pod, name: string, attempt: number): string {
  return `k8s_${name}_${pod.metadata.name}_${pod.metadata.namespace}_${pod.metadata.uid}_${attempt}`;
}

export function containerLabels(pod: Pod, owner: Owner, name: string, kind: ContainerKind, attempt: number, streak: number, specHash: string): Record<string, string> {
  return {
    [LABELS.managed]: "true",
    [LABELS.cluster]: owner.clusterId,
    [NODE_LABEL]: owner.nodeName,
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
