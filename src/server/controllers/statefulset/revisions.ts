// A StatefulSet's template history on the shared ControllerRevision library (upstream's
// getStatefulSetRevisions and truncateHistory). Each revision records the pod template as the
// patch `kubectl rollout undo` applies, carries the template's labels (so `kubectl rollout
// history` finds it by the set's selector) and the set's annotations (its change-cause). Pods
// name their revision in the controller-revision-hash label.
import type { ControllerRevision } from "../../../api/resources/apps/controllerrevision";
import type { Pod } from "../../../api/resources/core/pod";
import type { StatefulSet } from "../../../api/resources/apps/statefulset";
import { equalRevision, findEqualRevisions, newRevision, nextRevisionNumber, templatePatch, type RevisionHistory, type RevisionSpec } from "../history";
import { podRevision, templateOfRevision } from "./identity";
import type { Revision } from "./update";

const ownerOf = (set: StatefulSet) => ({ apiVersion: "apps/v1", kind: "StatefulSet", obj: set });

/** What the set's current template is recorded as, numbered after `revisions`. */
export function revisionSpecOf(set: StatefulSet, revisions: readonly ControllerRevision[]): RevisionSpec {
  const annotations = set.metadata.annotations ?? {};
  return {
    data: templatePatch(set.spec?.template),
    revision: nextRevisionNumber(revisions),
    labels: { ...(set.spec?.template?.metadata?.labels ?? {}) },
    ...(Object.keys(annotations).length && { annotations: { ...annotations } }),
  };
}

const asRevision = (rev: ControllerRevision, fallback: StatefulSet): Revision => ({
  name: rev.metadata.name!,
  template: templateOfRevision(rev.data) ?? fallback.spec!.template,
});

export interface SetRevisions {
  current: Revision;
  update: Revision;
  /** The revision objects, for truncation. */
  currentRevision: ControllerRevision;
  updateRevision: ControllerRevision;
  collisionCount: number;
}

/**
 * The current revision (the one status names, or the update revision when it names none) and
 * the update revision: the latest one when it already records the template, an older equal one
 * renumbered to be the latest (a rollback), or a new one.
 */
export async function setRevisions(history: RevisionHistory, set: StatefulSet, revisions: readonly ControllerRevision[]): Promise<SetRevisions> {
  let collisionCount = set.status?.collisionCount ?? 0;
  const spec = revisionSpecOf(set, revisions);
  const candidate = newRevision(ownerOf(set), spec, collisionCount);
  const equal = findEqualRevisions(revisions, candidate);
  const latest = revisions[revisions.length - 1];
  let update: ControllerRevision;
  if (equal.length && equalRevision(latest, equal[equal.length - 1])) update = latest!;
  else if (equal.length) update = await history.setRevisionNumber(equal[equal.length - 1]!, spec.revision);
  else {
    const created = await history.create(ownerOf(set), spec, collisionCount);
    update = created.revision;
    collisionCount = created.collisionCount ?? collisionCount;
  }
  const current = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
  return { current: asRevision(current, set), update: asRevision(update, set), currentRevision: current, updateRevision: update, collisionCount };
}

/** Deletes the oldest revisions beyond revisionHistoryLimit that no pod and neither status revision uses. */
export async function truncateHistory(history: RevisionHistory, set: StatefulSet, pods: Pod[], revisions: readonly ControllerRevision[], live: string[]): Promise<void> {
  const inUse = new Set([...live, ...pods.map(podRevision)]);
  const old = revisions.filter((r) => !inUse.has(r.metadata.name!));
  const limit = set.spec?.revisionHistoryLimit ?? 10;
  if (old.length > limit) await history.truncate(old, old.length - limit);
}
