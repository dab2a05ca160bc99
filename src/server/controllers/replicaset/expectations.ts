// Expectations, as in upstream's UIDTrackingControllerExpectations: how many pod creations and
// which pod deletions a ReplicaSet has in flight. Until the informer has seen all of them, the
// cache is known to be behind, and acting on it would create or delete pods a second time. So
// the controller only manages replicas for a ReplicaSet whose expectations are satisfied.
// Deletions are tracked by pod key, so seeing a pod both marked for deletion and then gone
// counts once. Expectations expire, so a lost event cannot wedge a ReplicaSet forever.

interface Expectation {
  adds: number;
  deletes: Set<string>;
  setAt: number;
}

export class Expectations {
  private readonly byOwner = new Map<string, Expectation>();

  /**
   * Upstream waits 5 minutes. Here the informers sit in the same process as the API server, so a
   * create is normally seen within milliseconds; 30 s still covers a loaded machine, and a lost
   * observation (a pod first seen already terminating after a relist) stalls a ReplicaSet for
   * 30 s instead of 5 minutes.
   */
  constructor(private readonly ttlMs = 30_000) {}

  /** True when nothing is in flight for `owner` (or what was expected is too old to trust). */
  satisfied(owner: string): boolean {
    const e = this.byOwner.get(owner);
    if (!e) return true;
    if (e.adds <= 0 && e.deletes.size === 0) return true;
    return Date.now() - e.setAt > this.ttlMs;
  }

  expectCreations(owner: string, n: number) {
    this.byOwner.set(owner, { adds: n, deletes: new Set(), setAt: Date.now() });
  }

  expectDeletions(owner: string, podKeys: string[]) {
    this.byOwner.set(owner, { adds: 0, deletes: new Set(podKeys), setAt: Date.now() });
  }

  /** A create was observed, or failed (so it will never be observed). */
  creationObserved(owner: string) {
    const e = this.byOwner.get(owner);
    if (e) e.adds--;
  }

  /** A pod deletion was observed, or the delete failed. */
  deletionObserved(owner: string, podKey: string) {
    this.byOwner.get(owner)?.deletes.delete(podKey);
  }

  forget(owner: string) {
    this.byOwner.delete(owner);
  }
}
