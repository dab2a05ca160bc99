// A DaemonSet's template history, as upstream's constructHistory and cleanupHistory: the
// ControllerRevision recording the current template (created, or an old one renumbered to the
// top when a rollback brings its template back), the old ones, and truncation beyond
// revisionHistoryLimit of old revisions no pod still runs. The current revision's hash is the
// controller-revision-hash its pods carry.
import { ApiError } from "../../../api/errors";
import type { ControllerRevision } from "../../../api/resources/apps/controllerrevision";
import type { DaemonSet } from "../../../api/resources/apps/daemonset";
import { selectorMatches } from "../../../api/resources/common";
import type { Pod } from "../../../api/resources/core/pod";
import type { ResourceClient } from "../../../client/client";
import { CONTROLLER_REVISION_HASH, dataMatches, nextRevisionNumber, sortRevisions, templatePatch, type RevisionHistory, type RevisionOwner } from "../history";
import { templateHash } from "./pods";

export interface DaemonSetHistory {
  cur: ControllerRevision;
  old: ControllerRevision[];
  /** The collision count the current revision's name needed (the status' collisionCount). */
  collisionCount: number | undefined;
}

export const ownerOf = (ds: DaemonSet): RevisionOwner => ({ apiVersion: "apps/v1", kind: "DaemonSet", obj: ds });

/** What a DaemonSet's revisions record: the patch that puts its current template back. */
export const dataOf = (ds: DaemonSet) => templatePatch(ds.spec!.template);

export async function constructHistory(
  history: RevisionHistory,
  pods: ResourceClient<Pod>,
  ds: DaemonSet,
  ownedPods: Pod[],
  canAdopt: () => Promise<boolean>,
): Promise<DaemonSetHistory> {
  const claimed = await history.claim(ownerOf(ds), (l) => selectorMatches(ds.spec!.selector, l), canAdopt);
  const data = dataOf(ds);
  const current: ControllerRevision[] = [];
  const old: ControllerRevision[] = [];
  for (let rev of claimed) {
    if (rev.metadata.deletionTimestamp) continue;
    // Revisions from elsewhere may lack the hash label; their name stands in for it (as upstream).
    if (!rev.metadata.labels?.[CONTROLLER_REVISION_HASH])
      rev = await history.client.patch(rev.metadata.namespace, rev.metadata.name!, { metadata: { labels: { [CONTROLLER_REVISION_HASH]: rev.metadata.name! } } });
    (dataMatches(rev, data) ? current : old).push(rev);
  }
  const next = nextRevisionNumber(old);
  let collisionCount = ds.status?.collisionCount;
  let cur: ControllerRevision;
  if (!current.length) {
    const template = ds.spec!.template;
    const created = await history.create(
      ownerOf(ds),
      {
        data,
        revision: next,
        labels: template.metadata?.labels,
        annotations: ds.metadata.annotations,
        hashLabel: CONTROLLER_REVISION_HASH,
        hash: (count) => templateHash(template, count ?? 0),
      },
      collisionCount,
    );
    cur = created.revision;
    collisionCount = created.collisionCount;
  } else {
    cur = await dedupCurrent(history, pods, current, ownedPods);
    if ((cur.revision ?? 0) < next) cur = await history.setRevisionNumber(cur, next);
  }
  return { cur, old, collisionCount };
}

/**
 * More than one revision records the current template (upstream's dedupCurHistories): keep the
 * newest, move pods labelled with the others' hashes over to its hash, delete the others.
 */
async function dedupCurrent(history: RevisionHistory, pods: ResourceClient<Pod>, current: ControllerRevision[], ownedPods: Pod[]): Promise<ControllerRevision> {
  const sorted = sortRevisions(current);
  const keep = sorted[sorted.length - 1];
  const keepHash = keep.metadata.labels![CONTROLLER_REVISION_HASH];
  for (const dup of sorted.slice(0, -1)) {
    const dupHash = dup.metadata.labels?.[CONTROLLER_REVISION_HASH];
    for (const p of ownedPods) {
      if (!dupHash || p.metadata.labels?.[CONTROLLER_REVISION_HASH] !== dupHash) continue;
      try {
        await pods.patch(p.metadata.namespace, p.metadata.name!, { metadata: { labels: { [CONTROLLER_REVISION_HASH]: keepHash } } });
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    await history.delete(dup);
  }
  return keep;
}

/**
 * upstream's cleanupHistory: with more old revisions than revisionHistoryLimit, delete the
 * oldest ones whose hash no pod of the DaemonSet (terminating ones included) still carries.
 */
export async function cleanupHistory(history: RevisionHistory, ds: DaemonSet, old: ControllerRevision[], pods: Pod[]): Promise<void> {
  const excess = old.length - (ds.spec?.revisionHistoryLimit ?? 10);
  if (excess <= 0) return;
  const liveHashes = new Set(pods.map((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH]).filter((h): h is string => !!h));
  await history.truncate(sortRevisions(old), excess, (rev) => liveHashes.has(rev.metadata.labels?.[CONTROLLER_REVISION_HASH] ?? ""));
}
