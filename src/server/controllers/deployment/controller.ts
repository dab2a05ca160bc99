// The Deployment controller: informers on Deployments, ReplicaSets and pods; handlers enqueue
// the Deployment a change concerns; `reconcile` claims the Deployment's ReplicaSets and runs one
// step of the rollout (or a scale, or a status refresh) from what the caches show now.
// As upstream, pod events matter only as deletions (Recreate waits for old pods to be gone);
// ReplicaSet events (their status included) drive everything else, and a sync looks at pods
// only when it needs them, through an index by controlling ReplicaSet.
import { ApiError } from "../../../api/errors";
import type { OwnerReference } from "../../../api/meta";
import { deployments as deploymentsDef, type Deployment } from "../../../api/resources/apps/deployment";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import { replicaSets as rsDef, type ReplicaSet } from "../../../api/resources/apps/replicaset";
import { jsonEqual } from "../../../api/resources/common";
import { labelSelectorFromObject, type LabelSelector } from "../../../api/selectors";
import type { KubeClient, ResourceClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { Informer, objectKeyOf } from "../../../client/informer";
import { createLogger } from "../../../machinery/log";
import type { SharedInformers } from "../informers";
import { ControlLoop, type ReconcileResult, type Reconciler } from "../../../machinery/controlloop";
import { ControllerIndex, NamespaceIndex } from "../nsindex";
import { claimObjects } from "../ownership";
import { controllerRefOf } from "../podutil";
import type { SyncContext } from "./context";
import { rolloutRecreate } from "./recreate";
import { rolloutRolling } from "./rolling";
import { checkPausedConditions, syncDeploymentStatus } from "./status";
import { getAllReplicaSetsAndSyncRevision, isScalingEvent, syncScaleOnly } from "./sync";

const log = createLogger("deployment-controller");

export interface DeploymentControllerOptions {
  workers?: number;
  /** The controller manager's caches: Deployments, ReplicaSets and pods then have one watch and one copy. */
  informers?: SharedInformers;
}

export class DeploymentController implements Reconciler {
  readonly name = "deployment-controller";
  private readonly deployClient: ResourceClient<Deployment>;
  private readonly rsClient: ResourceClient<ReplicaSet>;
  private readonly dInformer: Informer<Deployment>;
  private readonly rsInformer: Informer<ReplicaSet>;
  private readonly podInformer: Informer<Pod>;
  private readonly dByNamespace: NamespaceIndex<Deployment>;
  private readonly rsByNamespace: NamespaceIndex<ReplicaSet>;
  private readonly podsByController: ControllerIndex<Pod>;
  private readonly recorder: EventRecorder;
  private readonly shared?: SharedInformers;
  readonly loop: ControlLoop;

  constructor(client: KubeClient, opts: number | DeploymentControllerOptions = {}) {
    const { workers = 4, informers } = typeof opts === "number" ? { workers: opts } : opts;
    this.shared = informers;
    this.deployClient = client.resource<Deployment>(deploymentsDef);
    this.rsClient = client.resource<ReplicaSet>(rsDef);
    this.dInformer = informers ? informers.get<Deployment>(deploymentsDef) : new Informer(this.deployClient);
    this.rsInformer = informers ? informers.get<ReplicaSet>(rsDef) : new Informer(this.rsClient);
    this.podInformer = informers ? informers.get<Pod>(podsDef) : new Informer(client.resource<Pod>(podsDef));
    this.dByNamespace = new NamespaceIndex(this.dInformer, informers);
    this.rsByNamespace = new NamespaceIndex(this.rsInformer, informers);
    this.podsByController = ControllerIndex.of(this.podInformer, informers);
    this.recorder = new EventRecorder(client, "deployment-controller");
    this.loop = new ControlLoop(this, workers);
    const enqueue = (d: Deployment) => this.loop.enqueue(objectKeyOf(d));
    this.on(this.dInformer, { add: enqueue, update: (_, d) => enqueue(d), delete: enqueue });
    this.on(this.rsInformer, { add: (rs) => this.rsAdded(rs), update: (o, rs) => this.rsUpdated(o, rs), delete: (rs) => this.enqueueOwner(rs) });
    this.on(this.podInformer, { delete: (p) => this.podDeleted(p) });
  }

  private on<T extends Deployment | ReplicaSet | Pod>(inf: Informer<T>, h: Parameters<Informer<T>["on"]>[0]) {
    if (this.shared) this.shared.on(inf, h);
    else inf.on(h);
  }

  async start() {
    const informers = [this.dInformer, this.rsInformer, this.podInformer];
    const shared = this.shared;
    await Promise.all(informers.map((inf) => (shared ? shared.start(inf) : inf.start())));
    this.loop.start();
  }

  async stop() {
    // Shared caches belong to the controller manager, which stops them with the term.
    if (!this.shared) {
      this.dInformer.stop();
      this.rsInformer.stop();
      this.podInformer.stop();
    }
    await this.loop.stop();
  }

  // -------------------------------------------------------------------------------------------
  // Event handlers.

  private resolve(namespace: string | undefined, ref: OwnerReference | undefined): Deployment | undefined {
    if (!ref || ref.kind !== "Deployment") return undefined;
    const d = this.dInformer.get(`${namespace}/${ref.name}`);
    return d?.metadata.uid === ref.uid ? d : undefined;
  }

  private enqueueOwner(rs: ReplicaSet) {
    const d = this.resolve(rs.metadata.namespace, controllerRefOf(rs));
    if (d) this.loop.enqueue(objectKeyOf(d));
  }

  /** An orphan ReplicaSet: every Deployment that selects it may want to adopt it. */
  private enqueueMatching(rs: ReplicaSet) {
    for (const d of this.dByNamespace.list(rs.metadata.namespace ?? "")) {
      if (selectorOf(d)?.matches(rs.metadata.labels)) this.loop.enqueue(objectKeyOf(d));
    }
  }

  private rsAdded(rs: ReplicaSet) {
    if (controllerRefOf(rs)) this.enqueueOwner(rs);
    else if (!rs.metadata.deletionTimestamp) this.enqueueMatching(rs);
  }

  private rsUpdated(old: ReplicaSet, rs: ReplicaSet) {
    const oldRef = controllerRefOf(old);
    const ref = controllerRefOf(rs);
    const refChanged = !jsonEqual(oldRef ?? null, ref ?? null);
    if (refChanged) this.enqueueOwner(old);
    if (ref) return this.enqueueOwner(rs);
    if (refChanged || !jsonEqual(old.metadata.labels ?? {}, rs.metadata.labels ?? {})) this.enqueueMatching(rs);
  }

  /** Recreate waits for old pods to be gone; their deletion is its cue to continue. */
  private podDeleted(pod: Pod) {
    const rsRef = controllerRefOf(pod);
    if (rsRef?.kind !== "ReplicaSet") return;
    const rs = this.rsInformer.get(`${pod.metadata.namespace}/${rsRef.name}`);
    if (!rs || rs.metadata.uid !== rsRef.uid) return;
    const d = this.resolve(rs.metadata.namespace, controllerRefOf(rs));
    if (d?.spec?.strategy?.type === "Recreate") this.loop.enqueue(objectKeyOf(d));
  }

  // -------------------------------------------------------------------------------------------
  // Reconcile.

  async reconcile(key: string): Promise<ReconcileResult | void> {
    try {
      return await this.sync(key);
    } catch (e) {
      // A write pinned to a version our cache had is stale: the newer version's event is on its
      // way and will bring this key back; a short requeue covers a lost event.
      if (e instanceof ApiError && e.code === 409 && e.reason === "Conflict") return { requeueAfterMs: 250 };
      throw e;
    }
  }

  private async sync(key: string): Promise<ReconcileResult | void> {
    const cached = this.dInformer.get(key);
    if (!cached) return;
    const d: Deployment = { ...structuredClone(cached), apiVersion: "apps/v1", kind: "Deployment" };
    const selector = selectorOf(d);
    if (!selector) {
      log.warn("invalid selector; skipping", { key });
      return;
    }
    const namespace = d.metadata.namespace!;
    const rsList = await claimObjects(
      { apiVersion: "apps/v1", kind: "Deployment", obj: d, matches: (l) => selector.matches(l) },
      this.rsByNamespace.list(namespace).map((rs) => structuredClone(rs)),
      this.rsClient,
      () => this.canAdopt(d),
    );
    let podMap: Map<string, Pod[]> | undefined;
    const ctx: SyncContext = {
      deployments: this.deployClient,
      replicaSets: this.rsClient,
      recorder: this.recorder,
      d,
      rsList,
      podsByReplicaSet: () => (podMap ??= this.podsByReplicaSet(selector, rsList)),
    };

    if (d.metadata.deletionTimestamp) {
      const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(ctx, false);
      await syncDeploymentStatus(ctx, [...oldRSs, newRS], newRS);
      return;
    }
    await checkPausedConditions(ctx);
    if (d.spec?.paused || (await isScalingEvent(ctx))) await syncScaleOnly(ctx);
    else if (d.spec?.strategy?.type === "Recreate") await rolloutRecreate(ctx);
    else await rolloutRolling(ctx);
    if (ctx.requeueAfterMs !== undefined) return { requeueAfterMs: ctx.requeueAfterMs };
  }

  /** The pods each of the Deployment's ReplicaSets controls (and the Deployment selects). */
  private podsByReplicaSet(selector: LabelSelector, rsList: ReplicaSet[]): Map<string, Pod[]> {
    const out = new Map<string, Pod[]>();
    for (const rs of rsList) {
      const uid = rs.metadata.uid!;
      if (!out.has(uid)) out.set(uid, this.podsByController.controlledBy(uid).filter((p) => selector.matches(p.metadata.labels)));
    }
    return out;
  }

  private async canAdopt(d: Deployment): Promise<boolean> {
    try {
      const fresh = await this.deployClient.get(d.metadata.namespace, d.metadata.name!);
      return fresh.metadata.uid === d.metadata.uid && !fresh.metadata.deletionTimestamp;
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return false;
      throw e;
    }
  }
}

function selectorOf(d: Deployment): LabelSelector | undefined {
  try {
    const s = labelSelectorFromObject(d.spec?.selector);
    // An empty selector would select every pod in the namespace; the API rejects it, and so do we.
    return s.isEmpty() || s.matchesNothing ? undefined : s;
  } catch {
    return undefined;
  }
}
