// startScheduler: informers for nodes and pods → cache → the shared ControlLoop → bind.
import { namespaces, type Namespace } from "../../api/resources/core/namespace";
import { nodes } from "../../api/resources/core/node";
import { persistentVolumeClaims, type PersistentVolumeClaim } from "../../api/resources/core/persistentvolumeclaim";
import { pods, type Pod } from "../../api/resources/core/pod";
import { persistentVolumes, type PersistentVolume } from "../../api/resources/core/persistentvolume";
import { storageClasses, type StorageClass } from "../../api/resources/storage/storageclass";
import { SELECTED_NODE_ANNOTATION } from "../../api/storage-annotations";
import { podDisruptionBudgets, type PodDisruptionBudget } from "../../api/resources/policy/poddisruptionbudget";
import type { KubeClient } from "../../client/client";
import { EventRecorder } from "../../client/events";
import { Informer } from "../../client/informer";
import type { SharedInformers } from "../controllers/informers";
import { ControlLoop } from "../../machinery/controlloop";
import { SCHEDULER_COMPONENT } from "./bind";
import { budgetSplitter } from "./budgets";
import { SchedulerCache } from "./cache";
import type { PreemptionOptions } from "./preemption";
import { profileFor, type SchedulingPolicy } from "./profile";
import { Scheduler } from "./scheduler";
import { UnschedulablePods } from "./unschedulable";

export type { SchedulingPolicy } from "./profile";
export { profileFor } from "./profile";
export { selectNode } from "./pipeline";
export { SchedulerCache } from "./cache";

export interface StartSchedulerOptions {
  policy: SchedulingPolicy;
  /** Pods whose spec.schedulerName is this (or unset, for the default) are ours. */
  schedulerName?: string;
  /** Workers: decisions are serial anyway; more workers overlap more bind round trips. */
  concurrency?: number;
  /**
   * Safety-net retry of unschedulable pods, for changes the scheduler does not watch; cluster
   * changes that can make room retry them at once. Default 5 minutes, upstream's
   * podMaxInUnschedulablePodsDuration: a 30 s timer re-decided every waiting pod (5,000 of them in
   * the memory benchmark) twice a minute, for nothing.
   */
  retryIntervalMs?: number;
  /** Coalescing delay before waiting pods are retried after a cluster change. */
  flushDelayMs?: number;
  /** The controllers' caches: pods and nodes are then held once in the server, not twice. */
  informers?: SharedInformers;
  /** Preemption hooks; by default victims are checked against the PodDisruptionBudgets in the shared caches. */
  preemption?: PreemptionOptions;
}

export async function startScheduler(client: KubeClient, opts: StartSchedulerOptions): Promise<{ stop(): Promise<void> }> {
  const podClient = client.resource<Pod>(pods);
  const shared = opts.informers;
  const podInformer = shared ? shared.get<Pod>(pods) : new Informer(podClient);
  const nodeInformer = shared ? shared.get(nodes) : new Informer(client.resource(nodes));
  // Namespace labels, for namespaceSelectors in pod (anti-)affinity terms.
  const namespaceInformer = shared ? shared.get<Namespace>(namespaces) : new Informer(client.resource<Namespace>(namespaces));
  // Budgets protect preemption victims; the disruption controller keeps the same cache.
  const budgetInformer = shared?.get<PodDisruptionBudget>(podDisruptionBudgets);
  const claimInformer = shared ? shared.get<PersistentVolumeClaim>(persistentVolumeClaims) : new Informer(client.resource<PersistentVolumeClaim>(persistentVolumeClaims));
  const volumeInformer = shared ? shared.get<PersistentVolume>(persistentVolumes) : new Informer(client.resource<PersistentVolume>(persistentVolumes));
  const classInformer = shared ? shared.get<StorageClass>(storageClasses) : new Informer(client.resource<StorageClass>(storageClasses));
  const claimClient = client.resource<PersistentVolumeClaim>(persistentVolumeClaims);
  const cache = new SchedulerCache();
  let loop: ControlLoop | undefined;
  const enqueue = (key: string) => loop?.enqueue(key);
  const unschedulable = new UnschedulablePods(enqueue, { flushDelayMs: opts.flushDelayMs ?? 500, retryIntervalMs: opts.retryIntervalMs ?? 5 * 60_000 });
  const scheduler = new Scheduler({
    pods: podClient,
    getPod: (key) => podInformer.get(key),
    events: new EventRecorder(client, SCHEDULER_COMPONENT),
    profile: profileFor(opts.policy),
    schedulerName: opts.schedulerName ?? SCHEDULER_COMPONENT,
    cache,
    unschedulable,
    enqueue,
    context: { namespaceLabels: (ns) => namespaceInformer.get(ns)?.metadata.labels },
    preemption: opts.preemption ?? (budgetInformer ? { splitByBudget: budgetSplitter(() => budgetInformer.list()) } : undefined),
    claims: (key) => claimInformer.get(key),
    storage: { volume: (name) => volumeInformer.get(name), volumes: () => volumeInformer.list(), storageClass: (name) => classInformer.get(name) },
    selectNodeForClaim: async (claim, node) => {
      await claimClient.patch(claim.metadata.namespace, claim.metadata.name!, { metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: node } } });
    },
  });
  // The queue hands out more important pods first (upstream's PrioritySort).
  loop = new ControlLoop(scheduler, opts.concurrency ?? 16, { priorityOf: (key) => podInformer.get(key)?.spec?.priority ?? 0 });
  const nodeHandlers = { add: scheduler.nodeAdded, update: scheduler.nodeUpdated, delete: scheduler.nodeDeleted };
  const podHandlers = { add: scheduler.podAdded, update: scheduler.podUpdated, delete: scheduler.podDeleted };
  const claimHandlers = { add: scheduler.claimChanged, update: scheduler.claimChanged, delete: scheduler.claimChanged };
  if (shared) {
    shared.on(nodeInformer, nodeHandlers);
    shared.on(podInformer, podHandlers);
    shared.on(claimInformer, claimHandlers);
    shared.on(volumeInformer, claimHandlers);
  } else {
    nodeInformer.on(nodeHandlers);
    podInformer.on(podHandlers);
    claimInformer.on(claimHandlers);
    volumeInformer.on(claimHandlers);
  }
  // Nodes and claims first, so the first pods are decided against the whole cluster, not part of it.
  await (shared ? shared.start(nodeInformer) : nodeInformer.start());
  await (shared ? shared.start(namespaceInformer) : namespaceInformer.start());
  await (shared ? shared.start(claimInformer) : claimInformer.start());
  await (shared ? shared.start(volumeInformer) : volumeInformer.start());
  await (shared ? shared.start(classInformer) : classInformer.start());
  await (shared ? shared.start(podInformer) : podInformer.start());
  if (budgetInformer) await shared!.start(budgetInformer);
  loop.start();
  unschedulable.start();
  return {
    async stop() {
      unschedulable.stop();
      // Shared caches belong to the controller manager, which stops them with the term.
      if (!shared) {
        nodeInformer.stop();
        namespaceInformer.stop();
        podInformer.stop();
        claimInformer.stop();
        volumeInformer.stop();
        classInformer.stop();
      }
      await loop!.stop();
    },
  };
}
