// A StatefulSet pod's stable identity, as upstream's stateful_set_utils: its name <set>-<ordinal>,
// the labels naming it and its index, hostname and subdomain (so <pod>.<service>.<ns>.svc
// resolves through the headless Service), and one PersistentVolumeClaim per claim template,
// named <template>-<set>-<ordinal> and mounted as the template's volume. Pure: no API calls.
import type { PersistentVolumeClaim } from "../../../api/resources/core/persistentvolumeclaim";
import type { Pod } from "../../../api/resources/core/pod";
import type { PodTemplateSpec } from "../../../api/resources/core/podspec.schema";
import type { StatefulSet } from "../../../api/resources/apps/statefulset";
import { CONTROLLER_REVISION_HASH } from "../history";
import { controllerRefTo } from "../ownership";

/** The label naming a StatefulSet pod, for a Service per pod. */
export const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
/** The label holding a pod's ordinal. */
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";

/** A StatefulSet with apiVersion and kind, for owner references and events. */
export const withKind = (set: StatefulSet): StatefulSet => ({ ...set, apiVersion: "apps/v1", kind: "StatefulSet" });

const NAME_RE = /^(.*)-([0-9]+)$/;

/** The set name and ordinal a pod name carries; ordinal -1 when the name has none (upstream's getParentNameAndOrdinal). */
export function parentAndOrdinal(name: string | undefined): { parent: string; ordinal: number } {
  const m = NAME_RE.exec(name ?? "");
  if (!m) return { parent: "", ordinal: -1 };
  const ordinal = Number(m[2]);
  // Ordinals are int32 upstream; anything bigger does not parse there.
  return { parent: m[1]!, ordinal: ordinal <= 2 ** 31 - 1 ? ordinal : -1 };
}

export const ordinalOf = (pod: Pod) => parentAndOrdinal(pod.metadata.name).ordinal;

export const startOrdinal = (set: StatefulSet) => set.spec?.ordinals?.start ?? 0;
export const replicasOf = (set: StatefulSet) => set.spec?.replicas ?? 1;
/** The last ordinal in range (start - 1 when there are no replicas). */
export const endOrdinal = (set: StatefulSet) => startOrdinal(set) + replicasOf(set) - 1;

export const podName = (set: StatefulSet, ordinal: number) => `${set.metadata.name}-${ordinal}`;
export const claimName = (set: StatefulSet, template: string, ordinal: number) => `${template}-${set.metadata.name}-${ordinal}`;

export const inOrdinalRange = (set: StatefulSet, ordinal: number) => ordinal >= startOrdinal(set) && ordinal <= endOrdinal(set);

/** Whether a pod's name says it belongs to this set (upstream's isMemberOf). */
export const isMemberOf = (set: StatefulSet, pod: Pod) => parentAndOrdinal(pod.metadata.name).parent === set.metadata.name;

/** The revision a pod was made from (the controller-revision-hash label: the revision's name). */
export const podRevision = (pod: Pod) => pod.metadata.labels?.[CONTROLLER_REVISION_HASH] ?? "";

/** Whether a pod's name, namespace and identity labels are the ones its ordinal calls for. */
export function identityMatches(set: StatefulSet, pod: Pod): boolean {
  const { parent, ordinal } = parentAndOrdinal(pod.metadata.name);
  return (
    ordinal >= 0 &&
    parent === set.metadata.name &&
    pod.metadata.namespace === set.metadata.namespace &&
    pod.metadata.labels?.[POD_NAME_LABEL] === pod.metadata.name &&
    pod.metadata.labels?.[POD_INDEX_LABEL] === String(ordinal)
  );
}

/** The identity labels a pod of this ordinal carries. */
export const identityLabels = (name: string, ordinal: number) => ({ [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ordinal) });

/** The claims a pod of this ordinal uses, by claim template name (upstream's getPersistentVolumeClaims). */
export function claimsFor(set: StatefulSet, ordinal: number): Map<string, PersistentVolumeClaim> {
  const out = new Map<string, PersistentVolumeClaim>();
  const selectorLabels = set.spec?.selector?.matchLabels ?? {};
  for (const t of set.spec?.volumeClaimTemplates ?? []) {
    const template = t.metadata?.name ?? "";
    const { status: _status, ...claim } = structuredClone(t);
    claim.apiVersion = "v1";
    claim.kind = "PersistentVolumeClaim";
    claim.metadata = {
      ...(claim.metadata ?? {}),
      name: claimName(set, template, ordinal),
      namespace: set.metadata.namespace,
      labels: { ...(claim.metadata?.labels ?? {}), ...selectorLabels },
    };
    delete claim.metadata.creationTimestamp;
    out.set(template, claim as PersistentVolumeClaim);
  }
  return out;
}

/**
 * A new pod for `ordinal` from `template` (the set's own, or one restored from a revision),
 * labelled with `revision`: upstream's newStatefulSetPod (GetPodFromTemplate, initIdentity,
 * updateStorage) plus setPodRevision.
 */
export function newStatefulSetPod(set: StatefulSet, template: PodTemplateSpec, ordinal: number, revision: string): Pod {
  const name = podName(set, ordinal);
  const t = template ?? {};
  const metadata: Pod["metadata"] = {
    name,
    generateName: `${set.metadata.name}-`,
    namespace: set.metadata.namespace,
    labels: { ...(t.metadata?.labels ?? {}), ...identityLabels(name, ordinal), [CONTROLLER_REVISION_HASH]: revision },
    ownerReferences: [controllerRefTo({ apiVersion: "apps/v1", kind: "StatefulSet", obj: set })],
  };
  if (t.metadata?.annotations) metadata.annotations = { ...t.metadata.annotations };
  if (t.metadata?.finalizers) metadata.finalizers = [...t.metadata.finalizers];
  const spec = structuredClone(t.spec ?? { containers: [] }) as NonNullable<Pod["spec"]>;
  spec.hostname = name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
  const claims = claimsFor(set, ordinal);
  if (claims.size) {
    const claimVolumes = [...claims].map(([volume, claim]) => ({ name: volume, persistentVolumeClaim: { claimName: claim.metadata.name!, readOnly: false } }));
    spec.volumes = [...claimVolumes, ...(spec.volumes ?? []).filter((v) => !claims.has(v.name))];
  }
  return { apiVersion: "v1", kind: "Pod", metadata, spec } as Pod;
}

/** The pod template a revision records (its data is `{spec: {template: {..., $patch: "replace"}}}`). */
export function templateOfRevision(data: unknown): PodTemplateSpec | undefined {
  const t = (data as { spec?: { template?: Record<string, unknown> } } | undefined)?.spec?.template;
  if (!t) return undefined;
  const { $patch: _patch, ...template } = structuredClone(t);
  return template as PodTemplateSpec;
}
