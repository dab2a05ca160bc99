// The StatefulSet controller: informer handlers enqueue the set a pod event concerns; a sync
// claims the set's revisions and pods (adopting orphans named <set>-<ordinal> that its selector
// matches), works out the current and update revisions, runs one pass of update.ts, writes the
// status and trims the revision history.
//
// Pods have stable names, so a stale cache can never double a pod: a create the cache has not
// seen yet fails with AlreadyExists and the pass simply ends, to go on once the cache catches up.
import { ApiError } from "../../../api/errors";
import type { OwnerReference } from "../../../api/meta";
import { jsonEqual, selectorMatches } from "../../../api/resources/common";
import { persistentVolumeClaims as pvcDef, type PersistentVolumeClaim } from "../../../api/resources/core/persistentvolumeclaim";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import { statefulSets as stsDef, type StatefulSet } from "../../../api/resources/apps/statefulset";
import type { KubeClient, ResourceClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { type Informer, objectKeyOf } from "../../../client/informer";
import { ControlLoop, type ReconcileResult, type Reconciler } from "../../../machinery/controlloop";
import { RevisionHistory, sortRevisions } from "../history";
import type { SharedInformers } from "../informers";
import { ControllerIndex, NamespaceIndex } from "../nsindex";
import { claimObjects } from "../ownership";
import { controllerRefOf, msUntilAvailable } from "../podutil";
import { isMemberOf, replicasOf, withKind } from "./identity";
import { PodControl } from "./podcontrol";
import { setRevisions, truncateHistory } from "./revisions";
import { completeRollingUpdate, statusDiffers } from "./status";
import { updateStatefulSet } from "./update";

/** How soon a pass that waited on something it cannot watch (a stale claim going) looks again. */
const RECHECK_MS = 1_000;

export class StatefulSetController implements Reconciler {
  readonly name = "statefulset-controller";
  readonly loop: ControlLoop;
  private readonly sets: Informer<StatefulSet>;
  private readonly pods: Informer<Pod>;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly setsByNamespace: NamespaceIndex<StatefulSet>;
  private readonly podsByController: ControllerIndex<Pod>;
  private readonly history: RevisionHistory;
  private readonly setClient: ResourceClient<StatefulSet>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly control: PodControl;

  constructor(client: KubeClient, private readonly shared: SharedInformers) {
    this.sets = shared.get<StatefulSet>(stsDef);
    this.pods = shared.get<Pod>(podsDef);
    this.claims = shared.get<PersistentVolumeClaim>(pvcDef);
    this.setsByNamespace = new NamespaceIndex(this.sets, shared);
    this.podsByController = ControllerIndex.of(this.pods, shared);
    this.history = new RevisionHistory(client, RevisionHistory.informer(shared), shared);
    this.setClient = client.resource<StatefulSet>(stsDef);
    this.podClient = client.resource<Pod>(podsDef);
    this.control = new PodControl({
      pods: this.podClient,
      claims: client.resource<PersistentVolumeClaim>(pvcDef),
      cachedClaim: (key) => this.claims.get(key),
      cachedPod: (key) => this.pods.get(key),
      recorder: new EventRecorder(client, "statefulset-controller"),
    });
    this.loop = new ControlLoop(this, 4);

    const enqueue = (s: StatefulSet) => this.loop.enqueue(objectKeyOf(s));
    shared.on(this.sets, { add: enqueue, update: (_, s) => enqueue(s), delete: enqueue });
    shared.on(this.pods, { add: (p) => this.podChanged(p), update: (old, p) => this.podUpdated(old, p), delete: (p) => this.podChanged(p) });
  }

  async start() {
    await Promise.all([this.sets, this.pods, this.claims, this.history.informer].map((i) => this.shared.start(i)));
    this.loop.start();
  }

  async stop() {
    await this.loop.stop();
  }

  // -------------------------------------------------------------------------------------------
  // Event handlers.

  /** The set a controller reference points at, if it is one we know (same uid). */
  private resolve(namespace: string | undefined, ref: OwnerReference | undefined): StatefulSet | undefined {
    if (!ref || ref.kind !== "StatefulSet") return undefined;
    const set = this.sets.get(`${namespace}/${ref.name}`);
    return set?.metadata.uid === ref.uid ? set : undefined;
  }

  private podChanged(pod: Pod) {
    const ref = controllerRefOf(pod);
    const set = this.resolve(pod.metadata.namespace, ref);
    if (set) return this.loop.enqueue(objectKeyOf(set));
    if (ref) return;
    // An orphan named like one of a set's pods: the set may adopt it, or was waiting for it to go.
    for (const s of this.setsByNamespace.list(pod.metadata.namespace ?? "")) if (isMemberOf(s, pod)) this.loop.enqueue(objectKeyOf(s));
  }

  private podUpdated(old: Pod, pod: Pod) {
    if (!jsonEqual(controllerRefOf(old) ?? null, controllerRefOf(pod) ?? null) || !jsonEqual(old.metadata.labels ?? {}, pod.metadata.labels ?? {})) this.podChanged(old);
    this.podChanged(pod);
  }

  // -------------------------------------------------------------------------------------------
  // Sync.

  async reconcile(key: string): Promise<ReconcileResult | void> {
    try {
      return await this.sync(key);
    } catch (e) {
      // A write lost a race with another; the watch event for the winner brings the key back.
      if (e instanceof ApiError && e.code === 409 && e.reason !== "AlreadyExists") return { requeueAfterMs: 100 };
      throw e;
    }
  }

  private async sync(key: string): Promise<ReconcileResult | void> {
    const cached = this.sets.get(key);
    if (!cached?.spec) return;
    const set = withKind(cached);
    const owner = { apiVersion: "apps/v1", kind: "StatefulSet", obj: set };
    const matches = (labels: Record<string, string> | undefined) => selectorMatches(set.spec!.selector, labels);
    const canAdopt = () => this.canAdopt(set);

    const revisions = sortRevisions(await this.history.claim(owner, matches, canAdopt));
    const namespace = set.metadata.namespace ?? "";
    const candidates = [...this.podsByController.controlledBy(set.metadata.uid!), ...this.podsByController.orphansIn(namespace)].filter((p) => isMemberOf(set, p));
    const pods = await claimObjects({ ...owner, matches }, candidates, this.podClient, canAdopt);

    const revs = await setRevisions(this.history, set, revisions);
    const nowMs = Date.now();
    const result = await updateStatefulSet(
      { set, current: revs.current, update: revs.update, collisionCount: revs.collisionCount, pods, nowMs },
      this.control,
    );
    const status = result.status;
    completeRollingUpdate(set, status);
    if (statusDiffers(set.status, status)) await this.writeStatus(set, status);
    await truncateHistory(this.history, set, pods, revisions, [revs.currentRevision.metadata.name!, revs.updateRevision.metadata.name!]);
    if (result.error !== undefined) throw result.error;

    // Waiting on a claim the garbage collector has yet to remove is not something a watch brings back.
    if (result.waitingOnStaleClaim) return { requeueAfterMs: RECHECK_MS };
    // A ready pod turns available after minReadySeconds by itself: look again then.
    const minReady = set.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && (status.availableReplicas ?? 0) !== replicasOf(set)) {
      const waits = pods.map((p) => msUntilAvailable(p, minReady, nowMs)).filter((w): w is number => w !== undefined);
      if (waits.length) return { requeueAfterMs: Math.min(...waits) + 50 };
    }
  }

  private async writeStatus(set: StatefulSet, status: NonNullable<StatefulSet["status"]>) {
    try {
      await this.setClient.patch(set.metadata.namespace, set.metadata.name!, { status }, "merge", "status");
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return;
      throw e;
    }
  }

  /** Adopting needs the live set: a cached one may already be deleted or replaced. */
  private async canAdopt(set: StatefulSet): Promise<boolean> {
    try {
      const fresh = await this.setClient.get(set.metadata.namespace, set.metadata.name!);
      return fresh.metadata.uid === set.metadata.uid && !fresh.metadata.deletionTimestamp;
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return false;
      throw e;
    }
  }
}
