// The ReplicaSet controller: keeps the number of active pods a ReplicaSet controls at
// spec.replicas, adopting and releasing pods by selector, and reports status. Informer handlers
// only enqueue ReplicaSet keys and record observed creates/deletes for the expectations;
// `reconcile` does the work from the caches. ReplicationControllers run on it too (ReplicatedKind).
//
// Scale: a sync reads only the pods its ReplicaSet controls (an index by controller uid) and
// orphans in its namespace, never the whole namespace. Pod events that can change what the
// controller does (a pod gone or failed, labels or owner changed, the last expected create seen)
// enqueue at once; events that can only change status (bound, Running, Ready) enqueue after
// STATUS_DELAY_MS, so a burst of 10,000 pod updates costs a few syncs, not 10,000; so do
// status-only updates of the ReplicaSet (mostly our own writes). Status writes are spaced by
// STATUS_WRITE_INTERVAL_MS, and the settled status is always written. All of this only from
// COALESCE_FROM_PODS pods on: below that a sync costs next to nothing, and status follows each
// pod at once, as before.
import { ApiError } from "../../../api/errors";
import type { OwnerReference } from "../../../api/meta";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import { replicaSets as rsDef, type ReplicaSet } from "../../../api/resources/apps/replicaset";
import type { ResourceDef } from "../../../api/resource";
import type { LabelSelectorObject } from "../../../api/validation";
import { jsonEqual } from "../../../api/resources/common";
import { labelSelectorFromObject } from "../../../api/selectors";
import type { KubeClient, ResourceClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { Informer, objectKeyOf } from "../../../client/informer";
import { createLogger } from "../../../machinery/log";
import type { SharedInformers } from "../informers";
import { ControlLoop, type ReconcileResult, type Reconciler } from "../../../machinery/controlloop";
import { ControllerIndex, NamespaceIndex } from "../nsindex";
import { claimObjects } from "../ownership";
import { controllerRefOf, isPodActive, msUntilAvailable } from "../podutil";
import { Expectations } from "./expectations";
import { manageReplicas } from "./manage";
import { calculateStatus, statusEqual, type ManageError, type ReplicaSetStatus } from "./status";

/**
 * The kind whose replicas the controller keeps: ReplicaSets, or core/v1 ReplicationControllers,
 * which are the same thing with a plain label map for a selector (as upstream, one controller
 * serves both). Objects of either kind are handled in the ReplicaSet shape.
 */
export interface ReplicatedKind {
  def: ResourceDef<any>;
  apiVersion: string;
  kind: string;
  /** The controller's name in events and logs. */
  component: string;
  /** The object's selector as a LabelSelector. */
  selector(obj: ReplicaSet): LabelSelectorObject | undefined;
}

export const REPLICA_SETS: ReplicatedKind = {
  def: rsDef,
  apiVersion: "apps/v1",
  kind: "ReplicaSet",
  component: "replicaset-controller",
  selector: (rs) => rs.spec?.selector,
};

/** How long a status-only pod event waits before its ReplicaSet syncs (events in between share the sync). */
export const STATUS_DELAY_MS = 200;
/** ReplicaSets controlling fewer pods than this sync on every event and write status at once. */
export const COALESCE_FROM_PODS = 100;
/** A ReplicaSet's status is written at most this often while its pods churn (except as below). */
export const STATUS_WRITE_INTERVAL_MS = 250;

const metadataBesidesVersion = (rs: ReplicaSet) => ({ ...rs.metadata, resourceVersion: undefined });

/** Same generation (so the same spec) and metadata: only status (or nothing) changed. */
const statusOnlyChange = (old: ReplicaSet, rs: ReplicaSet) =>
  old.metadata.generation === rs.metadata.generation && jsonEqual(metadataBesidesVersion(old), metadataBesidesVersion(rs));

interface LabelMatcher {
  matches(labels: Record<string, string> | undefined): boolean;
}

export interface ReplicaSetControllerOptions {
  workers?: number;
  /** The kind served; default ReplicaSets. */
  kind?: ReplicatedKind;
  /** The controller manager's caches: pods and ReplicaSets then have one watch and one copy. */
  informers?: SharedInformers;
}

export class ReplicaSetController implements Reconciler {
  readonly name: string;
  private readonly kind: ReplicatedKind;
  readonly expectations = new Expectations();
  private readonly rsClient: ResourceClient<ReplicaSet>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly rsInformer: Informer<ReplicaSet>;
  private readonly podInformer: Informer<Pod>;
  private readonly rsByNamespace: NamespaceIndex<ReplicaSet>;
  private readonly podsByController: ControllerIndex<Pod>;
  private readonly recorder: EventRecorder;
  private readonly shared?: SharedInformers;
  /** Pending delayed enqueues per ReplicaSet key (status-only events, spaced status writes). */
  private readonly delayed = new Map<string, Timer>();
  /** When each ReplicaSet's status was last written, ms since the epoch. */
  private readonly lastStatusWrite = new Map<string, number>();
  /** Parsed selectors by ReplicaSet uid (dropped with the ReplicaSet). */
  private readonly selectors = new Map<string, { generation: number; matcher: LabelMatcher }>();
  private stopped = false;
  readonly loop: ControlLoop;

  constructor(client: KubeClient, opts: number | ReplicaSetControllerOptions = {}) {
    const { workers = 4, informers, kind = REPLICA_SETS } = typeof opts === "number" ? { workers: opts } : opts;
    this.kind = kind;
    this.name = kind.component;
    this.shared = informers;
    this.rsClient = client.resource<ReplicaSet>(kind.def);
    this.podClient = client.resource<Pod>(podsDef);
    this.rsInformer = informers ? informers.get<ReplicaSet>(kind.def) : new Informer(this.rsClient);
    this.podInformer = informers ? informers.get<Pod>(podsDef) : new Informer(this.podClient);
    this.rsByNamespace = new NamespaceIndex(this.rsInformer, informers);
    this.podsByController = ControllerIndex.of(this.podInformer, informers);
    this.recorder = new EventRecorder(client, kind.component);
    this.loop = new ControlLoop(this, workers);
    this.on(this.rsInformer, {
      add: (rs) => this.loop.enqueue(objectKeyOf(rs)),
      // A status-only change is most often our own write; it is checked again, but not at once.
      update: (old, rs) => (statusOnlyChange(old, rs) ? this.enqueueStatus(objectKeyOf(rs), rs.metadata.uid!) : this.loop.enqueue(objectKeyOf(rs))),
      delete: (rs) => {
        this.expectations.forget(objectKeyOf(rs));
        this.selectors.delete(rs.metadata.uid!);
        this.loop.enqueue(objectKeyOf(rs));
      },
    });
    this.on(this.podInformer, { add: (p) => this.podAdded(p), update: (o, p) => this.podUpdated(o, p), delete: (p) => this.podDeleted(p) });
  }

  private on<T extends ReplicaSet | Pod>(inf: Informer<T>, h: Parameters<Informer<T>["on"]>[0]) {
    if (this.shared) this.shared.on(inf, h);
    else inf.on(h);
  }

  async start() {
    if (this.shared) await Promise.all([this.shared.start(this.rsInformer), this.shared.start(this.podInformer)]);
    else await Promise.all([this.rsInformer.start(), this.podInformer.start()]);
    this.loop.start();
  }

  async stop() {
    this.stopped = true;
    for (const t of this.delayed.values()) clearTimeout(t);
    this.delayed.clear();
    // Shared caches belong to the controller manager, which stops them with the term.
    if (!this.shared) {
      this.rsInformer.stop();
      this.podInformer.stop();
    }
    await this.loop.stop();
  }

  /** Enqueues the key after `ms` unless a delayed enqueue is pending already (it comes sooner or soon enough). */
  private enqueueAfter(key: string, ms: number) {
    if (this.stopped || this.delayed.has(key)) return;
    this.delayed.set(
      key,
      setTimeout(() => {
        this.delayed.delete(key);
        this.loop.enqueue(key);
      }, ms),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Event handlers: find the ReplicaSets a pod event concerns; note observed creates/deletes.

  /** The ReplicaSet a controller reference points at, if it is one we know (same uid). */
  private resolve(namespace: string | undefined, ref: OwnerReference | undefined): ReplicaSet | undefined {
    if (!ref || ref.kind !== this.kind.kind) return undefined;
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
      return this.selectorOf(rs).matches(pod.metadata.labels);
    } catch {
      return false;
    }
  }

  /**
   * After an event that changes what the ReplicaSet has (a pod created, gone, failed): sync now
   * if that may call for action (nothing else in flight), else soon, for the status only.
   */
  private enqueueChanged(key: string, uid: string) {
    if (this.expectations.satisfied(key)) this.loop.enqueue(key);
    else this.enqueueStatus(key, uid);
  }

  /** For a change that can only move status: at once for a small ReplicaSet, else after STATUS_DELAY_MS. */
  private enqueueStatus(key: string, uid: string) {
    if (this.podsByController.countControlledBy(uid) < COALESCE_FROM_PODS) this.loop.enqueue(key);
    else this.enqueueAfter(key, STATUS_DELAY_MS);
  }

  private podAdded(pod: Pod) {
    if (pod.metadata.deletionTimestamp) return this.podDeleted(pod); // seen on a relist mid-deletion
    const rs = this.resolve(pod.metadata.namespace, controllerRefOf(pod));
    if (rs) {
      const key = objectKeyOf(rs);
      this.expectations.creationObserved(key);
      // While more of a batch of creates is outstanding, this one can only change status.
      this.enqueueChanged(key, rs.metadata.uid!);
    } else if (!controllerRefOf(pod)) this.enqueueMatching(pod);
  }

  private podUpdated(old: Pod, pod: Pod) {
    const labelsChanged = !jsonEqual(old.metadata.labels ?? {}, pod.metadata.labels ?? {});
    if (pod.metadata.deletionTimestamp) {
      // Marked for deletion: for our purposes it is gone already (upstream does the same).
      // Later updates of a terminating pod (its containers stopping) change nothing we count.
      if (old.metadata.deletionTimestamp && !labelsChanged) return;
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
      const key = objectKeyOf(rs);
      if (refChanged || labelsChanged) this.loop.enqueue(key); // adopted, or may need releasing
      else if (isPodActive(old) && !isPodActive(pod)) this.enqueueChanged(key, rs.metadata.uid!); // finished: replace it
      else this.enqueueStatus(key, rs.metadata.uid!); // bound, Running, Ready: status only
      return;
    }
    if (!ref && (labelsChanged || refChanged)) this.enqueueMatching(pod);
  }

  private podDeleted(pod: Pod) {
    const rs = this.resolve(pod.metadata.namespace, controllerRefOf(pod));
    if (!rs) return;
    const key = objectKeyOf(rs);
    this.expectations.deletionObserved(key, objectKeyOf(pod));
    this.enqueueChanged(key, rs.metadata.uid!);
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
      this.lastStatusWrite.delete(key);
      return;
    }
    const rs: ReplicaSet = { ...cached, apiVersion: this.kind.apiVersion, kind: this.kind.kind };
    const namespace = rs.metadata.namespace!;
    let selector: LabelMatcher;
    try {
      selector = this.selectorOf(rs);
    } catch (e) {
      // The API validates selectors; one that does not parse will not parse on a retry either.
      createLogger(this.name).warn("invalid selector; skipping", { key, error: String(e) });
      return;
    }
    // Read the expectations before the pods: an event landing in between then errs towards
    // waiting one more round, never towards acting on a stale view.
    const needsSync = this.expectations.satisfied(key);
    // Candidates: the pods this ReplicaSet controls and the namespace's orphans it might adopt.
    // Pods controlled by anything else are never claimed, so they need not be looked at.
    const candidates = this.activePodsOf(rs.metadata.uid!);
    if (this.podsByController.hasOrphans(namespace)) for (const p of this.podsByController.orphansIn(namespace)) if (isPodActive(p)) candidates.push(p);
    const owned = await claimObjects(
      { apiVersion: this.kind.apiVersion, kind: this.kind.kind, obj: rs, matches: (l) => selector.matches(l) },
      candidates,
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
        related: () => this.relatedPods(rs, owned),
      });
    }

    const now = Date.now();
    const status = calculateStatus(rs, owned, manageError, now);
    if (!statusEqual(rs.status, status)) {
      const wait = owned.length < COALESCE_FROM_PODS ? 0 : this.statusWriteWait(key, rs, status, now);
      if (wait > 0) this.enqueueAfter(key, wait);
      else {
        this.lastStatusWrite.set(key, now);
        await this.writeStatus(rs, status);
      }
    }
    if (manageError) throw new Error(manageError.message); // retried with backoff

    // A pod that is ready but not yet available (minReadySeconds) changes status later by itself.
    const minReady = rs.spec?.minReadySeconds ?? 0;
    if (minReady <= 0) return;
    let soonest = Infinity;
    for (const p of owned) {
      const ms = msUntilAvailable(p, minReady, now);
      if (ms !== undefined && ms < soonest) soonest = ms;
    }
    if (soonest !== Infinity) return { requeueAfterMs: soonest + 50 };
  }

  /**
   * How long a changed status waits before it is written: 0 when the last write is
   * STATUS_WRITE_INTERVAL_MS old, or the change is one to report at once (a new generation
   * observed, a failure condition set or cleared, or the ReplicaSet settled at spec.replicas).
   */
  private statusWriteWait(key: string, rs: ReplicaSet, status: ReplicaSetStatus, now: number): number {
    const last = this.lastStatusWrite.get(key);
    if (last === undefined) return 0;
    const left = last + STATUS_WRITE_INTERVAL_MS - now;
    if (left <= 0) return 0;
    if ((rs.status?.observedGeneration ?? 0) !== (status.observedGeneration ?? 0)) return 0;
    if ((rs.status?.conditions?.length ?? 0) !== (status.conditions?.length ?? 0)) return 0;
    const want = rs.spec?.replicas ?? 1;
    if (status.replicas === want && status.readyReplicas === want && status.availableReplicas === want && status.fullyLabeledReplicas === want) return 0;
    return left;
  }

  /**
   * The ReplicaSet's selector, with matches remembered per labels object: a pod version's labels
   * are one object that never changes, so a sync over 10,000 unchanged pods matches none again.
   * Kept per uid and generation (the selector is part of the spec).
   */
  private selectorOf(rs: ReplicaSet): LabelMatcher {
    const uid = rs.metadata.uid!;
    const generation = rs.metadata.generation ?? 0;
    const cached = this.selectors.get(uid);
    if (cached?.generation === generation) return cached.matcher;
    const selector = labelSelectorFromObject(this.kind.selector(rs));
    const seen = new WeakMap<Record<string, string>, boolean>();
    const matcher: LabelMatcher = {
      matches(labels) {
        if (!labels) return selector.matches(labels);
        let m = seen.get(labels);
        if (m === undefined) seen.set(labels, (m = selector.matches(labels)));
        return m;
      },
    };
    this.selectors.set(uid, { generation, matcher });
    return matcher;
  }

  private activePodsOf(uid: string): Pod[] {
    const out: Pod[] = [];
    for (const p of this.podsByController.controlledBy(uid)) if (isPodActive(p)) out.push(p);
    return out;
  }

  /** Active pods controlled by this ReplicaSet or a sibling with the same controller. */
  private relatedPods(rs: ReplicaSet, owned: Pod[]): Pod[] {
    const owner = controllerRefOf(rs);
    const related = [...owned];
    if (owner) {
      for (const other of this.rsByNamespace.list(rs.metadata.namespace!))
        if (other.metadata.uid !== rs.metadata.uid && controllerRefOf(other)?.uid === owner.uid) related.push(...this.activePodsOf(other.metadata.uid!));
    }
    return related;
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
