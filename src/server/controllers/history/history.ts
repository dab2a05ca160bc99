// The API side of controller history (upstream's realHistory): the revisions an owner controls
// (adopting orphans its selector matches, releasing ones it no longer matches), creating a
// revision with upstream's hash-collision handling, renumbering, and truncating old revisions.
// Reads come from the shared ControllerRevision informer, indexed by controller.
import { ApiError } from "../../../api/errors";
import type { KubeObject } from "../../../api/meta";
import { controllerRevisions as crDef, type ControllerRevision } from "../../../api/resources/apps/controllerrevision";
import type { KubeClient, ResourceClient } from "../../../client/client";
import type { Informer } from "../../../client/informer";
import type { SharedInformers } from "../informers";
import { ControllerIndex } from "../nsindex";
import { claimObjects } from "../ownership";
import { dataMatches, isControlledBy, newRevision, type RevisionOwner, type RevisionSpec } from "./revisions";

/** More collisions than this in a row means something else is wrong; give up and retry later. */
const MAX_COLLISIONS = 100;

const isNotFound = (e: unknown) => e instanceof ApiError && e.code === 404;
const isAlreadyExists = (e: unknown) => e instanceof ApiError && e.code === 409 && e.reason === "AlreadyExists";

export class RevisionHistory {
  readonly client: ResourceClient<ControllerRevision>;
  private readonly index: ControllerIndex<ControllerRevision>;

  /**
   * `informer` is the shared ControllerRevision informer (RevisionHistory.informer(shared)); the
   * caller starts it with its other informers before the first sync.
   */
  constructor(
    client: KubeClient,
    readonly informer: Informer<ControllerRevision>,
    shared?: SharedInformers,
  ) {
    this.client = client.resource<ControllerRevision>(crDef);
    this.index = ControllerIndex.of(informer, shared);
  }

  /** The one ControllerRevision informer of a term's shared caches. */
  static informer(shared: SharedInformers): Informer<ControllerRevision> {
    return shared.get<ControllerRevision>(crDef);
  }

  /**
   * The revisions the owner controls after adopting the orphans in its namespace that `matches`
   * selects and releasing the controlled ones it no longer selects (upstream's
   * ClaimControllerRevisions). `canAdopt` re-reads the owner before the first adoption.
   */
  claim(owner: RevisionOwner, matches: (labels: Record<string, string> | undefined) => boolean, canAdopt: () => Promise<boolean>): Promise<ControllerRevision[]> {
    const ns = owner.obj.metadata.namespace ?? "";
    const candidates = [...this.index.controlledBy(owner.obj.metadata.uid!), ...this.index.orphansIn(ns)].filter((r) => r.metadata.namespace === ns);
    return claimObjects({ ...owner, matches }, candidates, this.client, canAdopt);
  }

  /** Cached revisions the owner controls, without any writes. */
  controlledBy(owner: KubeObject): ControllerRevision[] {
    return this.index.controlledBy(owner.metadata.uid!).filter((r) => r.metadata.namespace === owner.metadata.namespace && !r.metadata.deletionTimestamp);
  }

  /**
   * Creates the revision (upstream's CreateControllerRevision). When its name is taken by a
   * revision that is the owner's with the same data, that one is returned; taken by anything
   * else, the collision count goes up by one and the hash (so the name) is computed again.
   * Returns the revision and the collision count that named it (write it to the owner's status).
   */
  async create(owner: RevisionOwner, spec: RevisionSpec, collisionCount?: number): Promise<{ revision: ControllerRevision; collisionCount: number | undefined }> {
    let count = collisionCount;
    for (let i = 0; i <= MAX_COLLISIONS; i++) {
      const rev = newRevision(owner, spec, count);
      try {
        return { revision: await this.client.create(rev.metadata.namespace, rev), collisionCount: count };
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
      let existing: ControllerRevision | undefined;
      try {
        existing = await this.client.get(rev.metadata.namespace, rev.metadata.name!);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        continue; // deleted meanwhile: the same name is free again
      }
      if (isControlledBy(existing, owner.obj) && dataMatches(existing, spec.data)) return { revision: existing, collisionCount: count };
      count = (count ?? 0) + 1;
    }
    throw new Error(`too many hash collisions creating a ControllerRevision for ${owner.kind} ${owner.obj.metadata.namespace}/${owner.obj.metadata.name}`);
  }

  /**
   * Gives a revision a new number (upstream's UpdateControllerRevision); a no-op when it has it.
   * Not pinned to the cached resourceVersion: the number is all this writes, so a newer version
   * of the revision (as upstream's retry on conflict) takes it just the same.
   */
  async setRevisionNumber(rev: ControllerRevision, revision: number): Promise<ControllerRevision> {
    if (rev.revision === revision) return rev;
    return this.client.patch(rev.metadata.namespace, rev.metadata.name!, { revision });
  }

  /** Deletes a revision; one already gone is fine. */
  async delete(rev: ControllerRevision): Promise<void> {
    try {
      await this.client.delete(rev.metadata.namespace, rev.metadata.name!, { preconditions: { uid: rev.metadata.uid } });
    } catch (e) {
      if (!isNotFound(e) && !(e instanceof ApiError && e.code === 409)) throw e;
    }
  }

  /**
   * Deletes up to `count` of `revisions`, oldest first (sort them first), skipping the ones
   * `isLive` keeps (a revision a pod or the owner's status still names). Returns how many went.
   * DaemonSets pass their old revisions and count = old.length - revisionHistoryLimit;
   * StatefulSets pass their non-live revisions and count = nonLive.length - revisionHistoryLimit.
   */
  async truncate(revisions: readonly ControllerRevision[], count: number, isLive: (rev: ControllerRevision) => boolean = () => false): Promise<number> {
    let deleted = 0;
    for (const rev of revisions) {
      if (deleted >= count) break;
      if (isLive(rev)) continue;
      await this.delete(rev);
      deleted++;
    }
    return deleted;
  }
}
