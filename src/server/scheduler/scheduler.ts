// The scheduler as a reconciler on the shared ControlLoop: informer handlers keep the cache
// current and enqueue pending pods (key = namespace/name); reconcile(key) decides from the cache
// and binds. The decision itself is synchronous, so concurrent workers never decide on the same
// snapshot twice: each one assumes its placement before the next decision runs, and only the
// bind round trips overlap.
import { recordAttempt, type AttemptResult } from "./metrics";
import type { Node } from "../../api/resources/core/node";
import type { Pod } from "../../api/resources/core/pod";
import type { ResourceClient } from "../../client/client";
import type { EventRecorder } from "../../client/events";
import type { Reconciler } from "../../machinery/controlloop";
import { bindPod, clearNomination, preemptVictim, recordScheduled, recordUnschedulable, SCHEDULER_COMPONENT } from "./bind";
import { isTerminal, SchedulerCache } from "./cache";
import { fitErrorMessage, preFilterMessage } from "./fit-error";
import { NO_NAMESPACE_LABELS, selectNode } from "./pipeline";
import { buildPodInfo, podKey } from "./podinfo";
import { findPreemption, type PreemptionOptions } from "./preemption";
import type { Profile } from "./profile";
import type { NodeInfo, PodInfo, SchedulingContext } from "./types";
import type { UnschedulablePods } from "./unschedulable";
import type { PersistentVolumeClaim } from "../../api/resources/core/persistentvolumeclaim";
import { SELECTED_NODE_ANNOTATION } from "../../api/storage-annotations";
import { resolveClaims, usesClaims, type ClaimLookup, type PodClaims, type StorageLookup } from "./volume-binding";

export interface SchedulerDeps {
  pods: ResourceClient<Pod>;
  /** Current pods, from the pod informer's cache. */
  getPod(key: string): Pod | undefined;
  events: EventRecorder;
  profile: Profile;
  schedulerName: string;
  cache: SchedulerCache;
  unschedulable: UnschedulablePods;
  enqueue(key: string): void;
  /** Namespace labels for namespaceSelectors in pod (anti-)affinity terms. */
  context?: SchedulingContext;
  /** Hooks for preemption (a PodDisruptionBudget check). */
  preemption?: PreemptionOptions;
  /** Cached PersistentVolumeClaims; without it, claims are not checked. */
  claims?: ClaimLookup;
  /** Cached volumes and classes, for volume node affinity and WaitForFirstConsumer claims. */
  storage?: StorageLookup;
  /** Writes the chosen node on a WaitForFirstConsumer claim. */
  selectNodeForClaim?(claim: PersistentVolumeClaim, node: string): Promise<void>;
}

export class Scheduler implements Reconciler {
  readonly name = "scheduler";

  constructor(private readonly d: SchedulerDeps) {}

  /** Pods this scheduler must place: ours by name, unbound, alive, not gated. */
  responsibleFor(pod: Pod): boolean {
    const spec = pod.spec;
    const name = spec?.schedulerName || SCHEDULER_COMPONENT;
    return name === this.d.schedulerName && !spec?.nodeName && !pod.metadata.deletionTimestamp && !isTerminal(pod) && !spec?.schedulingGates?.length;
  }

  async reconcile(key: string): Promise<void> {
    const start = performance.now();
    let result: AttemptResult | undefined;
    try {
      result = await this.attempt(key);
    } catch (e) {
      result = "error";
      throw e;
    } finally {
      if (result) recordAttempt(result, this.d.schedulerName, start);
    }
  }

  /** One scheduling attempt; undefined when there was nothing to attempt. */
  private async attempt(key: string): Promise<AttemptResult | undefined> {
    const { cache, unschedulable } = this.d;
    const pod = this.d.getPod(key);
    if (!pod || !this.responsibleFor(pod)) {
      unschedulable.delete(key);
      return undefined;
    }
    if (cache.isAssumed(key)) return undefined; // a bind for it is in flight
    const claims: PodClaims | undefined = this.d.claims && usesClaims(pod) ? resolveClaims(pod, this.d.claims, this.d.storage, (ns, claim) => this.claimUsers(key, ns, claim)) : undefined;
    if (claims?.problem) {
      unschedulable.add(key);
      await recordUnschedulable(this.d.pods, this.d.events, pod, preFilterMessage(cache.snapshot().length, claims.problem));
      return "unschedulable";
    }
    const info = claims?.filter ? { ...buildPodInfo(pod), volumeFilter: claims.filter } : buildPodInfo(pod);
    const nodes = cache.snapshotFor(info);
    const ctx = this.d.context ?? NO_NAMESPACE_LABELS;
    const decision = selectNode(info, nodes, this.d.profile, ctx);
    if (!decision.node) {
      unschedulable.add(key);
      const message = fitErrorMessage(decision.totalNodes, decision.reasons);
      if (decision.totalNodes === 0) {
        await recordUnschedulable(this.d.pods, this.d.events, pod, message);
        return "unschedulable";
      }
      // Only pods that fit nowhere get here: preemption costs nothing on the common path.
      const result = findPreemption(info, nodes, decision.candidates, this.d.profile, ctx, this.d.preemption);
      if (!result.preemption) {
        // Not eligible: any nomination stands (its victims are still going). No victims: it is void.
        const nomination = result.eligible ? null : undefined;
        await recordUnschedulable(this.d.pods, this.d.events, pod, `${message} preemption: ${result.message}`, nomination);
        return "unschedulable";
      }
      await this.preempt(pod, info, result.preemption.node, result.preemption.victims, message);
      return "unschedulable";
    }
    unschedulable.delete(key);
    const nodeName = decision.node.name;
    if (claims?.delayed.length) {
      // Upstream's PreBind: the claims learn the node, the pod waits until they are bound. Their
      // binding (a claim event) brings the pod back; VolumeBinding then keeps it on this node.
      for (const claim of claims.delayed) if (!claim.metadata.annotations?.[SELECTED_NODE_ANNOTATION]) await this.d.selectNodeForClaim?.(claim, nodeName);
      unschedulable.add(key);
      return undefined; // not bound yet: counted when the pod comes back and binds
    }
    cache.assume(info, nodeName);
    let outcome;
    try {
      outcome = await bindPod(this.d.pods, pod, nodeName);
    } catch (e) {
      cache.forget(key);
      throw e; // the loop retries with backoff
    }
    if (outcome === "lost") {
      // Bound elsewhere or being deleted: the informer brings the truth; re-check from it then.
      cache.forget(key);
      return undefined;
    }
    recordScheduled(this.d.events, pod, nodeName);
    return "scheduled";
  }

  /** Scheduled pods other than `key` whose volumes name the claim (ReadWriteOncePod). */
  private claimUsers(key: string, namespace: string, claim: string): number {
    let n = 0;
    for (const node of this.d.cache.snapshot())
      for (const p of node.pods) if (p.key !== key && p.namespace === namespace && p.pod.spec?.volumes?.some((v) => v.persistentVolumeClaim?.claimName === claim)) n++;
    return n;
  }

  /** Carries out a preemption: nominate, evict the victims, void weaker nominations, report. */
  private async preempt(pod: Pod, info: PodInfo, node: NodeInfo, victims: readonly PodInfo[], message: string) {
    const { cache, pods, events } = this.d;
    cache.nominate(info, node.name);
    const weaker = cache.nominatedOn(node.name).filter((p) => p.priority < info.priority);
    await Promise.all([
      ...victims.map((v) => preemptVictim(pods, events, this.d.schedulerName, v.pod, pod, node.name)),
      ...weaker.map((p) => clearNomination(pods, p.pod)),
    ]);
    await recordUnschedulable(pods, events, pod, message, node.name);
  }

  // Informer handlers: keep the cache current, enqueue what needs deciding, and wake waiting
  // pods only on changes that can make room.

  podAdded = (pod: Pod) => {
    this.d.cache.setPod(pod);
    if (this.responsibleFor(pod)) this.d.enqueue(podKey(pod));
  };

  podUpdated = (old: Pod, pod: Pod) => {
    const key = podKey(pod);
    this.d.cache.setPod(pod);
    if (this.responsibleFor(pod)) {
      // A waiting pod is retried only when what it asks for changes; its own status updates
      // (including the condition we wrote) must not retry it, or it would spin.
      if (!this.d.unschedulable.has(key) || schedulingInputsChanged(old, pod)) {
        this.d.unschedulable.delete(key);
        this.d.enqueue(key);
      }
    } else this.d.unschedulable.delete(key);
    const wasHolding = !!old.spec?.nodeName && !isTerminal(old);
    const holds = !!pod.spec?.nodeName && !isTerminal(pod);
    if (wasHolding && (!holds || !sameLabels(old, pod))) this.d.unschedulable.clusterChanged();
  };

  podDeleted = (pod: Pod) => {
    const key = podKey(pod);
    this.d.cache.removePod(key);
    this.d.unschedulable.delete(key);
    if (pod.spec?.nodeName) this.d.unschedulable.clusterChanged();
  };

  nodeAdded = (node: Node) => {
    this.d.cache.setNode(node);
    this.d.unschedulable.clusterChanged();
  };

  nodeUpdated = (old: Node, node: Node) => {
    this.d.cache.setNode(node);
    if (nodeSchedulingChanged(old, node)) this.d.unschedulable.clusterChanged();
  };

  nodeDeleted = (node: Node) => {
    this.d.cache.removeNode(node.metadata.name!);
  };

  /** A claim made, bound or gone may let waiting pods in (or keep them out with another reason). */
  claimChanged = () => {
    this.d.unschedulable.clusterChanged();
  };
}

const json = (v: unknown) => JSON.stringify(v ?? null);
const sameLabels = (a: Pod, b: Pod) => json(a.metadata.labels) === json(b.metadata.labels);

function schedulingInputsChanged(old: Pod, pod: Pod): boolean {
  return json(old.spec) !== json(pod.spec) || !sameLabels(old, pod);
}

const readyOf = (n: Node) => n.status?.conditions?.find((c) => c.type === "Ready")?.status;

/** Heartbeats change a node every few seconds; only these fields can change where pods fit. */
export function nodeSchedulingChanged(old: Node, node: Node): boolean {
  return (
    json(old.status?.allocatable) !== json(node.status?.allocatable) ||
    json(old.metadata.labels) !== json(node.metadata.labels) ||
    json(old.spec?.taints) !== json(node.spec?.taints) ||
    !!old.spec?.unschedulable !== !!node.spec?.unschedulable ||
    readyOf(old) !== readyOf(node)
  );
}
