// Controller history: the ControllerRevisions that DaemonSets and StatefulSets keep of their pod
// templates, as upstream's pkg/controller/history. A library the controllers share, not a
// controller of its own.
//
// API (stable; both the DaemonSet and the StatefulSet controllers build on it):
//
//   Labels
//     CONTROLLER_REVISION_HASH = "controller-revision-hash"  on pods (and DaemonSet revisions)
//     REVISION_HASH_LABEL = "controller.kubernetes.io/hash"  on revisions made by newRevision
//
//   Pure (revisions.ts)
//     templatePatch(template) → { spec: { template: { ...template, $patch: "replace" } } }
//         the data DaemonSets and StatefulSets record, and what `kubectl rollout undo` applies
//     hashRevisionData(data, collisionCount?) → string     upstream's HashControllerRevision
//     revisionName(prefix, hash) → "<prefix>-<hash>"       prefix cut to 223 characters
//     newRevision(owner, spec, collisionCount?) → ControllerRevision (not yet created)
//         owner: RevisionOwner { apiVersion, kind, obj }; spec: RevisionSpec { data, revision,
//         labels?, annotations?, hashLabel? (default REVISION_HASH_LABEL), hash?(collisionCount) }
//     sortRevisions(revs) → oldest first (revision, creation time, name), a copy
//     equalRevision(a, b, hashLabel?) / findEqualRevisions(revs, needle, hashLabel?)
//     dataMatches(rev, data) → whether the revision records exactly this data
//     nextRevisionNumber(revs) → max revision + 1 (1 when empty)
//     isControlledBy(rev, ownerObj), ownerRefOf(owner)
//
//   API-backed (history.ts): new RevisionHistory(client, RevisionHistory.informer(shared), shared)
//     .informer                                   start it with the controller's other informers
//     .claim(owner, matches, canAdopt) → revisions the owner controls, orphans adopted, strays released
//     .controlledBy(ownerObj) → cached revisions it controls (no writes)
//     .create(owner, spec, collisionCount?) → { revision, collisionCount }
//         AlreadyExists with the owner's identical data returns that one; any other holder of
//         the name bumps the collision count and retries; write the count back to the status
//     .setRevisionNumber(rev, n) → the renumbered revision (no write when it already has n)
//     .delete(rev)
//     .truncate(revisions sorted oldest first, count, isLive?) → how many were deleted
export * from "./revisions";
export { RevisionHistory } from "./history";
