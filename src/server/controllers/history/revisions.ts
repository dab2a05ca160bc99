// Pure helpers over ControllerRevisions (upstream's pkg/controller/history): the data a
// template-keeping controller records, the hash and name of a revision, ordering, equality, and
// the next revision number. No I/O here; history.ts does the API calls.
import type { KubeObject, OwnerReference } from "../../../api/meta";
import type { ControllerRevision } from "../../../api/resources/apps/controllerrevision";
import { jsonEqual } from "../../../api/resources/common";
import { canonicalJson, safeEncodeString } from "../deployment/hash";
import { controllerRefOf } from "../podutil";

/** The label upstream's history package puts on the revisions it names (NewControllerRevision). */
export const REVISION_HASH_LABEL = "controller.kubernetes.io/hash";
/** The label on DaemonSet and StatefulSet pods (and DaemonSet revisions) naming their revision. */
export const CONTROLLER_REVISION_HASH = "controller-revision-hash";

/** Who a revision belongs to: the controlling object and its apiVersion/kind. */
export interface RevisionOwner {
  apiVersion: string;
  kind: string;
  obj: KubeObject;
}

export const ownerRefOf = (o: RevisionOwner): OwnerReference => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  name: o.obj.metadata.name!,
  uid: o.obj.metadata.uid!,
  controller: true,
  blockOwnerDeletion: true,
});

/**
 * What DaemonSets and StatefulSets record: a strategic merge patch that puts this pod template
 * back whole (`$patch: replace`), the exact body `kubectl rollout undo` sends.
 */
export function templatePatch(template: unknown): Record<string, unknown> {
  return { spec: { template: { ...(structuredClone(template ?? {}) as Record<string, unknown>), $patch: "replace" } } };
}

/** 32-bit FNV-1 (upstream's fnv.New32, used by HashControllerRevision). */
export function fnv32(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (const b of bytes) h = (Math.imul(h, 0x01000193) ^ b) >>> 0;
  return h >>> 0;
}

/**
 * upstream's HashControllerRevision: FNV-1 over the data (here its canonical JSON, keys sorted),
 * then the collision count in decimal when there is one, in the consonants-and-digits alphabet.
 */
export function hashRevisionData(data: unknown, collisionCount?: number): string {
  const enc = new TextEncoder();
  let h = fnv32(enc.encode(canonicalJson(data ?? {})));
  if (collisionCount !== undefined && collisionCount !== null) h = fnv32(enc.encode(String(collisionCount)), h);
  return safeEncodeString(String(h));
}

/** "<prefix>-<hash>", the prefix cut so the name stays a valid DNS subdomain (upstream: 223 chars). */
export const revisionName = (prefix: string, hash: string) => `${prefix.slice(0, 223)}-${hash}`;

export interface RevisionSpec {
  /** The recorded state (for DaemonSets and StatefulSets: templatePatch(template)). */
  data: Record<string, unknown>;
  revision: number;
  /** Labels copied onto the revision (upstream: the template's labels). */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** The label the hash is written to; default REVISION_HASH_LABEL (DaemonSets use CONTROLLER_REVISION_HASH). */
  hashLabel?: string;
  /** The hash for a collision count; default hashRevisionData(data, collisionCount). */
  hash?: (collisionCount: number | undefined) => string;
}

/** upstream's NewControllerRevision: the revision object, named <owner>-<hash>, controlled by the owner. */
export function newRevision(owner: RevisionOwner, spec: RevisionSpec, collisionCount?: number): ControllerRevision {
  const hash = spec.hash ? spec.hash(collisionCount) : hashRevisionData(spec.data, collisionCount);
  return {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: {
      name: revisionName(owner.obj.metadata.name!, hash),
      namespace: owner.obj.metadata.namespace,
      labels: { ...spec.labels, [spec.hashLabel ?? REVISION_HASH_LABEL]: hash },
      ...(spec.annotations && Object.keys(spec.annotations).length && { annotations: { ...spec.annotations } }),
      ownerReferences: [ownerRefOf(owner)],
    },
    data: structuredClone(spec.data),
    revision: spec.revision,
  };
}

const createdMs = (r: ControllerRevision) => Date.parse(r.metadata.creationTimestamp ?? "") || 0;

/** Oldest first: by revision, then creation time, then name (upstream's SortControllerRevisions). A copy. */
export const sortRevisions = (revs: readonly ControllerRevision[]): ControllerRevision[] =>
  [...revs].sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0) || createdMs(a) - createdMs(b) || a.metadata.name!.localeCompare(b.metadata.name!));

/** Whether a revision records exactly this data. */
export const dataMatches = (rev: ControllerRevision, data: unknown) => jsonEqual(rev.data ?? null, data ?? null);

/** upstream's EqualRevision: hash labels (when both have one) and then the data agree. */
export function equalRevision(a: ControllerRevision | undefined, b: ControllerRevision | undefined, hashLabel = REVISION_HASH_LABEL): boolean {
  if (!a || !b) return a === b;
  const [ha, hb] = [a.metadata.labels?.[hashLabel], b.metadata.labels?.[hashLabel]];
  if (ha !== undefined && hb !== undefined && ha !== hb) return false;
  return jsonEqual(a.data ?? null, b.data ?? null);
}

/** The revisions equal to `needle` (upstream's FindEqualRevisions). */
export const findEqualRevisions = (revs: readonly ControllerRevision[], needle: ControllerRevision, hashLabel?: string) =>
  revs.filter((r) => equalRevision(r, needle, hashLabel));

/** One more than the highest revision number; 1 for an empty history. */
export const nextRevisionNumber = (revs: readonly ControllerRevision[]) => revs.reduce((m, r) => Math.max(m, r.revision ?? 0), 0) + 1;

/** Whether `owner` is the revision's controller (upstream's metav1.IsControlledBy). */
export const isControlledBy = (rev: KubeObject, owner: KubeObject) => controllerRefOf(rev)?.uid === owner.metadata.uid;
