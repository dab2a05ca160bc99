// The DaemonSet controller's reconcile: adopt matching orphans, record the template in a
// ControllerRevision (history.ts), create a pod on every eligible node that has none, delete
// misplaced, duplicate and failed ones, roll old pods to the current revision within
// maxUnavailable or maxSurge, trim old revisions, and write status. Creations in flight are
// remembered per node until the pod cache shows them, so a lagging cache never doubles a node's pod.
import { ApiError } from "../../../api/errors";
import { selectorMatches } from "../../../api/resources/common";
import { daemonSets as dsDef, type DaemonSet } from "../../../api/resources/apps/daemonset";
import type { Node } from "../../../api/resources/core/node";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import type { KubeClient } from "../../../client/client";
import type { EventRecorder } from "../../../client/events";
import type { Informer } from "../../../client/informer";
import type { ReconcileResult, Reconciler } from "../../../machinery/controlloop";
import type { NamespaceIndex } from "../nsindex";
import { claimObjects } from "../ownership";
import { msUntilAvailable } from "../podutil";
import type { RevisionHistory } from "../history";
import { cleanupHistory, constructHistory } from "./history";
import { daemonSetStatus, planNodes, rollingUpdate } from "./plan";
import { daemonPod, REVISION_HASH, templateHash } from "./pods";

/** How long a creation may stay unseen before we stop waiting for it (a lost watch event). */
const PENDING_TTL_MS = 30_000;

const withKind = (ds: DaemonSet): DaemonSet => ({ ...ds, apiVersion: "apps/v1", kind: "DaemonSet" });
const isGone = (e: unknown) => e instanceof ApiError && (e.code === 404 || e.code === 409);

export class DaemonSetController implements Reconciler {
  readonly name = "daemonset-controller";
  /** DaemonSet key → node → until when a created pod is expected there. */
  private readonly pending = new Map<string, Map<string, number>>();

  constructor(
    private readonly client: KubeClient,
    private readonly daemonSets: Informer<DaemonSet>,
    private readonly nodes: Informer<Node>,
    private readonly podsByNamespace: NamespaceIndex<Pod>,
    private readonly events: EventRecorder,
    private readonly history: RevisionHistory,
  ) {}

  /** The pod cache now shows a pod on this node: the creation there is no longer in flight. */
  observed(dsKey: string, node: string | undefined) {
    if (node) this.pending.get(dsKey)?.delete(node);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const ds = this.daemonSets.get(key);
    if (!ds) return void this.pending.delete(key);
    if (ds.metadata.deletionTimestamp || !ds.spec) return; // the garbage collector takes its pods
    const [namespace] = key.split("/");
    const podsClient = this.client.resource<Pod>(podsDef);
    const pods = await claimObjects(
      { apiVersion: "apps/v1", kind: "DaemonSet", obj: ds, matches: (l) => selectorMatches(ds.spec!.selector, l) },
      this.podsByNamespace.list(namespace),
      podsClient,
      () => this.canAdopt(ds),
    );

    const history = await constructHistory(this.history, podsClient, ds, pods, () => this.canAdopt(ds));
    const hash = history.cur.metadata.labels?.[REVISION_HASH] ?? templateHash(ds.spec.template, history.collisionCount ?? 0);

    const now = Date.now();
    const pending = this.pending.get(key) ?? new Map<string, number>();
    this.pending.set(key, pending);
    for (const [n, until] of pending) if (until < now) pending.delete(n);
    const plan = planNodes(ds, this.nodes.list(), pods, (n) => pending.has(n), hash);
    // Roll only once the set is otherwise in shape, so one pass never both fixes and replaces a node.
    const steps = plan.delete.length || plan.create.length ? plan : rollingUpdate(ds, plan.nodes, hash, now, (n) => pending.has(n));

    await Promise.all(steps.create.map((node) => this.createOn(ds, node, hash, pending)));
    await Promise.all(steps.delete.map(({ pod, why }) => this.deletePod(ds, pod, why)));
    await cleanupHistory(this.history, ds, history.old, pods);

    await this.writeStatus(ds, daemonSetStatus(ds, plan.nodes, hash, now, history.collisionCount));
    // A ready pod turns available after minReadySeconds: look again then, for status and rollout.
    const waits = plan.nodes.flatMap((n) => n.live.map((p) => msUntilAvailable(p, ds.spec!.minReadySeconds ?? 0, now))).filter((w): w is number => w !== undefined);
    if (waits.length) return { requeueAfterMs: Math.min(...waits) + 10 };
  }

  onError(key: string, e: unknown) {
    const ds = this.daemonSets.get(key);
    if (ds) this.events.event(withKind(ds), "Warning", "FailedDaemonSetSync", e instanceof Error ? e.message : String(e));
  }

  private async createOn(ds: DaemonSet, node: string, hash: string, pending: Map<string, number>) {
    pending.set(node, Date.now() + PENDING_TTL_MS);
    try {
      const pod = await this.client.resource<Pod>(podsDef).create(ds.metadata.namespace, daemonPod(ds, node, hash));
      this.events.event(withKind(ds), "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name}`);
    } catch (e) {
      pending.delete(node);
      // A terminating namespace refuses new pods; the namespace controller is removing us anyway.
      if (e instanceof ApiError && e.code === 403) return;
      this.events.event(withKind(ds), "Warning", "FailedCreate", `Error creating: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
  }

  private async deletePod(ds: DaemonSet, pod: Pod, why: string) {
    if (why === "failed")
      this.events.event(withKind(ds), "Warning", "FailedDaemonPod", `Found failed daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${pod.spec?.nodeName}, will try to kill it`);
    try {
      await this.client.resource<Pod>(podsDef).delete(pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
      this.events.event(withKind(ds), "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name} (${why})`);
    } catch (e) {
      if (!isGone(e)) throw e;
    }
  }

  private async writeStatus(ds: DaemonSet, status: NonNullable<DaemonSet["status"]>) {
    if (JSON.stringify(ds.status ?? {}) === JSON.stringify(status)) return;
    try {
      await this.client.resource<DaemonSet>(dsDef).patch(ds.metadata.namespace, ds.metadata.name!, { status }, "merge", "status");
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }

  /** Adopting needs the live DaemonSet: a cached one may already be deleted or replaced. */
  private async canAdopt(ds: DaemonSet): Promise<boolean> {
    try {
      const fresh = await this.client.resource<DaemonSet>(dsDef).get(ds.metadata.namespace, ds.metadata.name!);
      return fresh.metadata.uid === ds.metadata.uid && !fresh.metadata.deletionTimestamp;
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return false;
      throw e;
    }
  }
}
