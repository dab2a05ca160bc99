// The disruption controller: keeps every PodDisruptionBudget's status (expectedPods,
// desiredHealthy, currentHealthy, disruptionsAllowed, disruptedPods, observedGeneration and the
// DisruptionAllowed condition) in line with its pods, as upstream's pkg/controller/disruption.
// Pod events enqueue the budgets whose selector matches the pod (old and new labels); budget
// events enqueue the budget. The pods' controllers are read from the shared ReplicaSet,
// Deployment and ReplicationController caches; any other controller kind from its scale subresource.
import { ApiError } from "../../../api/errors";
import { KINDS, apiVersionOf } from "../../../api/kinds";
import type { OwnerReference } from "../../../api/meta";
import { deployments as deploymentDef, type Deployment } from "../../../api/resources/apps/deployment";
import { replicaSets as rsDef, type ReplicaSet } from "../../../api/resources/apps/replicaset";
import { jsonEqual, selectorMatches } from "../../../api/resources/common";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import { replicationControllers as rcDef, type ReplicationController } from "../../../api/resources/core/replicationcontroller";
import { podDisruptionBudgets as pdbDef, type PodDisruptionBudget } from "../../../api/resources/policy/poddisruptionbudget";
import type { KubeClient, ResourceClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { Informer, objectKeyOf } from "../../../client/informer";
import { ControlLoop, type ReconcileResult, type Reconciler } from "../../../machinery/controlloop";
import { createLogger } from "../../../machinery/log";
import type { SharedInformers } from "../informers";
import { NamespaceIndex } from "../nsindex";
import { controllerRefOf } from "../podutil";
import { budgetCounts, countHealthy, disruptedPodsNow, nextStatus, withDisruptionAllowedCondition, type ControllerScale } from "./budget";

const log = createLogger("disruption-controller");

const withKind = (pdb: PodDisruptionBudget): PodDisruptionBudget => ({ ...pdb, apiVersion: "policy/v1", kind: "PodDisruptionBudget" });
const timestamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

export interface DisruptionControllerOptions {
  informers?: SharedInformers;
  workers?: number;
  /** The clock, for tests of the disruptedPods timeout. */
  now?: () => number;
}

export class DisruptionController implements Reconciler {
  readonly name = "disruption-controller";
  readonly loop: ControlLoop;
  private readonly client: KubeClient;
  private readonly pdbClient: ResourceClient<PodDisruptionBudget>;
  private readonly pdbInformer: Informer<PodDisruptionBudget>;
  private readonly podInformer: Informer<Pod>;
  private readonly rsInformer: Informer<ReplicaSet>;
  private readonly deploymentInformer: Informer<Deployment>;
  private readonly rcInformer: Informer<ReplicationController>;
  private readonly pdbsByNamespace: NamespaceIndex<PodDisruptionBudget>;
  private readonly podsByNamespace: NamespaceIndex<Pod>;
  private readonly recorder: EventRecorder;
  private readonly shared?: SharedInformers;
  private readonly now: () => number;

  constructor(client: KubeClient, opts: DisruptionControllerOptions = {}) {
    const { informers, workers = 2 } = opts;
    this.client = client;
    this.shared = informers;
    this.now = opts.now ?? Date.now;
    this.pdbClient = client.resource<PodDisruptionBudget>(pdbDef);
    const informer = <T extends PodDisruptionBudget | Pod | ReplicaSet | Deployment | ReplicationController>(ref: typeof pdbDef | typeof podsDef | typeof rsDef | typeof deploymentDef | typeof rcDef) =>
      informers ? informers.get<T>(ref) : new Informer<T>(client.resource<T>(ref));
    this.pdbInformer = informer<PodDisruptionBudget>(pdbDef);
    this.podInformer = informer<Pod>(podsDef);
    this.rsInformer = informer<ReplicaSet>(rsDef);
    this.deploymentInformer = informer<Deployment>(deploymentDef);
    this.rcInformer = informer<ReplicationController>(rcDef);
    this.pdbsByNamespace = new NamespaceIndex(this.pdbInformer, informers);
    this.podsByNamespace = NamespaceIndex.of(this.podInformer, informers);
    this.recorder = new EventRecorder(client, "controllermanager");
    this.loop = new ControlLoop(this, workers);
    const enqueue = (pdb: PodDisruptionBudget) => this.loop.enqueue(objectKeyOf(pdb));
    this.on(this.pdbInformer, { add: enqueue, update: (_, p) => enqueue(p), delete: enqueue });
    this.on(this.podInformer, {
      add: (p) => this.enqueueFor(p),
      update: (old, p) => {
        this.enqueueFor(p);
        if (!jsonEqual(old.metadata.labels ?? {}, p.metadata.labels ?? {})) this.enqueueFor(old);
      },
      delete: (p) => this.enqueueFor(p),
    });
  }

  private on<T extends PodDisruptionBudget | Pod>(inf: Informer<T>, h: Parameters<Informer<T>["on"]>[0]) {
    if (this.shared) this.shared.on(inf, h);
    else inf.on(h);
  }

  async start() {
    const all = [this.pdbInformer, this.podInformer, this.rsInformer, this.deploymentInformer, this.rcInformer];
    if (this.shared) await Promise.all(all.map((i) => this.shared!.start(i)));
    else await Promise.all(all.map((i) => i.start()));
    this.loop.start();
  }

  async stop() {
    if (!this.shared) for (const i of [this.pdbInformer, this.podInformer, this.rsInformer, this.deploymentInformer, this.rcInformer]) i.stop();
    await this.loop.stop();
  }

  private enqueueFor(pod: Pod) {
    for (const pdb of this.pdbsByNamespace.list(pod.metadata.namespace ?? "")) {
      if (selectorMatches(pdb.spec?.selector, pod.metadata.labels)) this.loop.enqueue(objectKeyOf(pdb));
    }
  }

  /** The pods a budget covers: its selector over the namespace's pods (none for a missing selector). */
  private podsOf(pdb: PodDisruptionBudget): Pod[] {
    if (!pdb.spec?.selector) return [];
    return this.podsByNamespace.list(pdb.metadata.namespace ?? "").filter((p) => selectorMatches(pdb.spec!.selector, p.metadata.labels));
  }

  /** The finders upstream tries in turn: ReplicaSet (unless a Deployment controls it), Deployment, then any kind's scale. */
  private findScale = async (ref: OwnerReference, namespace: string): Promise<ControllerScale | undefined> => {
    if (ref.kind === "ReplicaSet" && ref.apiVersion === "apps/v1") {
      const rs = this.rsInformer.get(`${namespace}/${ref.name}`);
      if (!rs || rs.metadata.uid !== ref.uid) return undefined;
      const owner = controllerRefOf(rs);
      if (owner?.kind === "Deployment" && owner.apiVersion === "apps/v1") {
        const d = this.deploymentInformer.get(`${namespace}/${owner.name}`);
        return d && d.metadata.uid === owner.uid ? { uid: d.metadata.uid!, scale: d.spec?.replicas ?? 0 } : undefined;
      }
      return { uid: rs.metadata.uid!, scale: rs.spec?.replicas ?? 0 };
    }
    if (ref.kind === "ReplicationController" && ref.apiVersion === "v1") {
      const rc = this.rcInformer.get(`${namespace}/${ref.name}`);
      return rc && rc.metadata.uid === ref.uid ? { uid: rc.metadata.uid!, scale: rc.spec?.replicas ?? 0 } : undefined;
    }
    if (ref.kind === "Deployment" && ref.apiVersion === "apps/v1") {
      const d = this.deploymentInformer.get(`${namespace}/${ref.name}`);
      return d && d.metadata.uid === ref.uid ? { uid: d.metadata.uid!, scale: d.spec?.replicas ?? 0 } : undefined;
    }
    const row = Object.values(KINDS).find((k) => apiVersionOf(k) === ref.apiVersion && k.kind === ref.kind);
    if (!row) return undefined;
    try {
      const scale = await this.client.json<{ metadata?: { uid?: string }; spec?: { replicas?: number } }>(
        "GET",
        this.client.resource(row).path(namespace, ref.name, "scale"),
      );
      return scale.metadata?.uid === ref.uid ? { uid: ref.uid, scale: scale.spec?.replicas ?? 0 } : undefined;
    } catch (e) {
      if (e instanceof ApiError && (e.code === 404 || e.code === 405)) return undefined;
      throw e;
    }
  };

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const pdb = this.pdbInformer.get(key);
    if (!pdb || pdb.metadata.deletionTimestamp) return;
    const pods = this.podsOf(pdb);
    const nowMs = this.now();
    const now = new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, "Z");
    let counts;
    try {
      counts = await budgetCounts(pdb, pods, this.findScale);
    } catch (e) {
      const message = (e as Error).message;
      this.recorder.event(withKind(pdb), "Warning", "CalculateExpectedPodCountFailed", `Failed to calculate the number of expected pods: ${message}`);
      await this.failSafe(pdb, message);
      return { requeueAfterMs: 5_000 };
    }
    const { inFlight, overdue, recheckAtMs } = disruptedPodsNow(pdb, pods, nowMs);
    for (const name of overdue) {
      const pod = pods.find((p) => p.metadata.name === name)!;
      this.recorder.event({ ...pod, apiVersion: "v1", kind: "Pod" }, "Warning", "NotDeleted", `Pod was expected by PDB ${pdb.metadata.namespace}/${pdb.metadata.name} to be deleted but it wasn't`);
    }
    const status = nextStatus(pdb, { ...counts, currentHealthy: countHealthy(pods, inFlight, nowMs), disruptedPods: inFlight }, now);
    if (status) {
      if (pods.length === 0) this.recorder.event(withKind(pdb), "Normal", "NoPods", "No matching pods found");
      if (counts.unmanaged.length)
        this.recorder.event(
          withKind(pdb),
          "Warning",
          "UnmanagedPods",
          `Pods selected by this PodDisruptionBudget (selector: ${JSON.stringify(pdb.spec?.selector)}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`,
        );
      try {
        await this.pdbClient.updateStatus({ ...withKind(pdb), status });
      } catch (e) {
        // An eviction (or our previous write) got in first: redo the sync on the fresh budget.
        if (e instanceof ApiError && e.reason === "Conflict") return { requeueAfterMs: 20 };
        throw e;
      }
    }
    if (recheckAtMs !== undefined) return { requeueAfterMs: Math.max(0, recheckAtMs - nowMs) + 10 };
  }

  /** When the status cannot be computed: no disruptions, and a SyncFailed condition saying why. */
  private async failSafe(pdb: PodDisruptionBudget, message: string) {
    const status = { ...(pdb.status ?? {}), disruptionsAllowed: 0 };
    status.conditions = withDisruptionAllowedCondition(status, timestamp(), message);
    try {
      await this.pdbClient.updateStatus({ ...withKind(pdb), status });
    } catch (e) {
      if (e instanceof ApiError && e.reason === "Conflict") return; // requeued anyway
      log.warn("could not write a budget's fail-safe status", { pdb: objectKeyOf(pdb), error: String(e) });
    }
  }
}
