// The ReplicaSet controller: keeps the number of active pods a ReplicaSet controls at
// spec.replicas, adopting and releasing pods by selector, and reports status. Informer handlers
// only enqueue ReplicaSet keys and record observed creates/deletes for the expectations;
// `reconcile` does the work from the caches.
import { ApiError } from "../../../api/errors";
import type { OwnerReference } from "../../../api/meta";
import { pods as podsDef, type Pod } from "../../../api/resources/pod";
import { replicaSets as rsDef, type ReplicaSet } from "../../../api/resources/replicaset";
import { jsonEqual } from "../../../api/resources/common";
import { labelSelectorFromObject } from "../../../api/selectors";
import type { KubeClient, ResourceClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { Informer, objectKeyOf } from "../../../client/informer";
import { createLogger } from "../../../machinery/log";
import { ControlLoop, type ReconcileResult, type Reconciler } from "../loop";
import { NamespaceIndex } from "../nsindex";
import { claimObjects } from "../ownership";
import { controllerRefOf, isPodActive, isPodReady, msUntilAvailable } from "../podutil";
import { Expectations } from "./expectations";
import { manageReplicas } from "./manage";
import { calculateStatus, statusEqual, type ManageError } from "./status";

const log = createLogger("replicaset-controller");

const withKind = (rs: ReplicaSet): ReplicaSet => ({ ...rs, apiVersion: "apps/v1", kind: "ReplicaSet" });

export class ReplicaSetController implements Reconciler {
  readonly name = "replicaset-controller";
  readonly expectations = new Expectations();
  private readonly rsClient: ResourceClient<ReplicaSet>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly rsInformer: Informer<ReplicaSet>;
  private readonly podInformer: Informer<Pod>;
  private readonly rsByNamespace: NamespaceIndex<ReplicaSet>;
  private readonly podsByNamespace: NamespaceIndex<Pod>;
  private readonly recorder: EventRecorder;
  readonly loop: ControlLoop;

  constructor(client: KubeClient, workers = 4) {
    this.rsClient = client.resource<ReplicaSet>(rsDef);
    this.podClient = client.resource<Pod>(podsDef);
    this.rsInformer = new Informer(this.rsClient);
    this.podInformer = new Informer(this.podClient);
    this.rsByNamespace = new NamespaceIndex(this.rsInformer);
    this.podsByNamespace = new NamespaceIndex(this.podInformer);
    this.recorder = new EventRecorder(client, "replicaset-controller");
    this.loop = new ControlLoop(this, workers);
    this.rsInformer.on({
      add: (rs) => this.loop.enqueue(objectKeyOf(rs)),
      update: (_, rs) => this.loop.enqueue(objectKeyOf(rs)),
      delete: (rs) => {
        this.expectations.forget(objectKeyOf(rs));
        this.loop.enqueue(objectKeyOf(rs));
      },
    });
    this.podInformer.on({ add: (p) => this.podAdded(p), update: (o, p) => this.podUpdated(o, p), delete: (p) => this.podDeleted(p) });
  }

  async start() {
    await Promise.all([this.rsInformer.start(), this.podInformer.start()]);
    this.loop.start();
  }

  async stop() {
    this.rsInformer.stop();
    this.podInformer.stop();
    await this.loop.stop();
  }

  // -------------------------------------------------------------------------------------------
  // Event handlers: find the ReplicaSets a pod event concerns; note observed creates/deletes.

  /** The ReplicaSet a controller reference points at, if it is one we know (same uid). */
  private resolve(namespace: string | undefined, ref: OwnerReference | undefined): ReplicaSet | undefined {
    if (!ref || ref.kind !== "ReplicaSet") return undefined;
    const rs = this.rsInformer.get(`${namespace}/${ref.name}`);
    return rs?.metadata.uid === ref.uid ? rs : undefined;
  }

  private enqueueMatching(pod: Pod) {
    for (const rs of this.rsByNamespace.list(pod.metadata.namespace ?? "")) {
      if (this.selects(rs, pod)) this.loop.enqueue(objectKeyOf(rs));
    }
  }

  private selects(rs: ReplicaSet, pod: Pod): boolean {
    try {
      return labelSelectorFromObject(rs.spec?.selector).matches(pod.metadata.labels);
    } catch {
      return false;
    }
  }

  private podAdded(pod: Pod) {
    if (pod.metadata.deletionTimestamp) return this.podDeleted(pod); // seen on a relist mid-deletion
    const rs = this.resolve(pod.metadata.namespace, controllerRefOf(pod));
    if (rs) {
      this.expectations.creationObserved(objectKeyOf(rs));
      this.loop.enqueue(objectKeyOf(rs));
    } else if (!controllerRefOf(pod)) this.enqueueMatching(pod);
  }

  private podUpdated(old: Pod, pod: Pod) {
    const labelsChanged = !jsonEqual(old.metadata.labels ?? {}, pod.metadata.labels ?? {});
    if (pod.metadata.deletionTimestamp) {
      // Marked for deletion: for our purposes it is gone already (upstream does the same).
      this.podDeleted(pod);
      if (labelsChanged) this.podDeleted(old);
      return;
    }
    const oldRef = controllerRefOf(old);
    const ref = controllerRefOf(pod);
    const refChanged = !jsonEqual(oldRef ?? null, ref ?? null);
    if (refChanged) {
      const was = this.resolve(old.metadata.namespace, oldRef);
      if (was) this.loop.enqueue(objectKeyOf(was));
    }
    const rs = this.resolve(pod.metadata.namespace, ref);
    if (rs) {
      this.loop.enqueue(objectKeyOf(rs));
      return;
    }
    if (!ref && (labelsChanged || refChanged)) this.enqueueMatching(pod);
  }

  private podDeleted(pod: Pod) {
    const rs = this.resolve(pod.metadata.namespace, controllerRefOf(pod));
    if (!rs) return;
    this.expectations.deletionObserved(objectKeyOf(rs), objectKeyOf(pod));
    this.loop.enqueue(objectKeyOf(rs));
  }

  // -------------------------------------------------------------------------------------------
  // Reconcile.

  async reconcile(key: string): Promise<ReconcileResult | void> {
    try {
      return await this.sync(key);
    } catch (e) {
      // Someone changed a pod or the ReplicaSet under us; the watch event for that change is
      // on its way and brings the key back, so this is not worth a warning or a long backoff.
      if (e instanceof ApiError && e.code === 409) return { requeueAfterMs: 100 };
      throw e;
    }
  }

  private async sync(key: string): Promise<ReconcileResult | void> {
    const cached = this.rsInformer.get(key);
    if (!cached) {
      this.expectations.forget(key);
      return;
    }
    const rs = withKind(cached);
    const namespace = rs.metadata.namespace!;
    let selector;
    try {
      selector = labelSelectorFromObject(rs.spec?.selector);
    } catch (e) {
      // The API validates selectors; one that does not parse will not parse on a retry either.
      log.warn("invalid selector; skipping", { key, error: String(e) });
      return;
    }
    // Read the expectations before the pods: an event landing in between then errs towards
    // waiting one more round, never towards acting on a stale view.
    const needsSync = this.expectations.satisfied(key);
    const active = this.podsByNamespace.list(namespace).filter(isPodActive);
    const owned = await claimObjects(
      { apiVersion: "apps/v1", kind: "ReplicaSet", obj: rs, matches: (l) => selector.matches(l) },
      active,
      this.podClient,
      () => this.canAdopt(rs),
    );

    let manageError: ManageError | undefined;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      manageError = await manageReplicas({
        pods: this.podClient,
        expectations: this.expectations,
        recorder: this.recorder,
        rs,
        key,
        owned,
        related: this.relatedPods(rs, active),
      });
    }

    const now = Date.now();
    const status = calculateStatus(rs, owned, manageError, now);
    if (!statusEqual(rs.status, status)) await this.writeStatus(rs, status);
    if (manageError) throw new Error(manageError.message); // retried with backoff

    // A pod that is ready but not yet available (minReadySeconds) changes status later by itself.
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const waits = owned.filter(isPodReady).map((p) => msUntilAvailable(p, minReady, now) ?? Infinity);
    const soonest = Math.min(Infinity, ...waits);
    if (soonest !== Infinity) return { requeueAfterMs: soonest + 50 };
  }

  /** Active pods controlled by this ReplicaSet or a sibling with the same controller. */
  private relatedPods(rs: ReplicaSet, active: Pod[]): Pod[] {
    const owner = controllerRefOf(rs);
    const uids = new Set([rs.metadata.uid]);
    if (owner) {
      for (const other of this.rsByNamespace.list(rs.metadata.namespace!))
        if (controllerRefOf(other)?.uid === owner.uid) uids.add(other.metadata.uid);
    }
    return active.filter((p) => uids.has(controllerRefOf(p)?.uid));
  }

  /** Re-reads the ReplicaSet: adopting for one that was deleted and recreated would be wrong. */
  private async canAdopt(rs: ReplicaSet): Promise<boolean> {
    try {
      const fresh = await this.rsClient.get(rs.metadata.namespace, rs.metadata.name!);
      return fresh.metadata.uid === rs.metadata.uid && !fresh.metadata.deletionTimestamp;
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return false;
      throw e;
    }
  }

  private async writeStatus(rs: ReplicaSet, status: NonNullable<ReplicaSet["status"]>) {
    try {
      await this.rsClient.patch(rs.metadata.namespace, rs.metadata.name!, { status: { ...status, conditions: status.conditions ?? null } }, "merge", "status");
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return; // deleted meanwhile
      throw e;
    }
  }
}
