// A DaemonSet's pod for one node, and the template hash that tells updated pods from old ones.
import type { OwnerReference } from "../../../api/meta";
import type { DaemonSet } from "../../../api/resources/apps/daemonset";
import type { Pod } from "../../../api/resources/core/pod";
import type { PodTemplateSpec } from "../../../api/resources/core/podspec.schema";
import { CONTROLLER_REVISION_HASH } from "../history";
import { daemonTolerations } from "./eligibility";

/** The label upstream puts on daemon pods: the hash of the ControllerRevision they came from. */
export const REVISION_HASH = CONTROLLER_REVISION_HASH;
export const TEMPLATE_GENERATION = "pod-template-generation";

function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
}

/**
 * FNV-32a of the template's canonical JSON in upstream's consonants-and-digits alphabet: the
 * hash in a DaemonSet revision's name and label (upstream's ComputeHash of the template).
 */
export function templateHash(template: PodTemplateSpec | undefined, collisionCount = 0): string {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(canonicalJson(template ?? {}) + (collisionCount ? `#${collisionCount}` : ""))) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  return [...String(h >>> 0)].map((c) => alphabet[c.charCodeAt(0) % alphabet.length]).join("");
}

export const controllerRef = (ds: DaemonSet): OwnerReference => ({
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  name: ds.metadata.name!,
  uid: ds.metadata.uid!,
  controller: true,
  blockOwnerDeletion: true,
});

/**
 * Bound directly with spec.nodeName (not left to the scheduler): a daemon pod must land on its
 * node even when that node is cordoned, not Ready, or the scheduler is down — the daemon is
 * often what makes the node work. The required node affinity is also set to that node by
 * metadata.name, as upstream does, so the pod still says where it belongs.
 */
export function daemonPod(ds: DaemonSet, node: string, hash: string): Pod {
  const t = ds.spec!.template;
  const spec = structuredClone(t.spec!);
  const preferred = spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
  spec.affinity = {
    ...spec.affinity,
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [node] }] }] },
      ...(preferred && { preferredDuringSchedulingIgnoredDuringExecution: preferred }),
    },
  };
  spec.tolerations = daemonTolerations(t.spec);
  spec.nodeName = node;
  return {
    metadata: {
      generateName: `${ds.metadata.name}-`,
      namespace: ds.metadata.namespace,
      labels: { ...t.metadata?.labels, [REVISION_HASH]: hash, [TEMPLATE_GENERATION]: String(ds.metadata.generation ?? 1) },
      ...(t.metadata?.annotations && { annotations: { ...t.metadata.annotations } }),
      ownerReferences: [controllerRef(ds)],
    },
    spec,
  };
}
