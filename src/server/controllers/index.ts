// startControllers: the controller manager. It contends for the `kube-system/bramble-controller-manager`
// Lease and, while it leads, runs every controller; losing the lease (or stop()) stops them
// all, so two servers never run the loops at once. Every controller is one entry of CONTROLLERS
// (a name and a start function, its code in its own folder); the scheduler comes from the caller
// as an extra entry of the same shape.
import type { KubeClient } from "../../client/client";
import { createLogger } from "../../machinery/log";
import { startCronJobController } from "./cronjob";
import { startClusterRoleAggregationController } from "./clusterroleaggregation";
import { startDaemonSetController } from "./daemonset";
import { startDeploymentController } from "./deployment";
import { startDisruptionController } from "./disruption";
import { startEndpointsController } from "./endpoints";
import { startEndpointSliceController } from "./endpointslice";
import { startEndpointSliceMirroringController } from "./endpointslicemirroring";
import { startGarbageCollector } from "./gc";
import { startHorizontalPodAutoscalerController } from "./horizontalpodautoscaler";
import { startJobController } from "./job";
import { SharedInformers } from "./informers";
import { LeaderElector, type LeaderElectionOptions } from "./leader";
import { startNamespaceController } from "./namespace";
import { startNodeLifecycleController } from "./nodelifecycle";
import { startPersistentVolumeController } from "./persistentvolume";
import { startPodGarbageCollector } from "./podgc";
import { startReplicaSetController } from "./replicaset";
import { startResourceQuotaController } from "./resourcequota";
import { startReplicationControllerController } from "./replicationcontroller";
import { startRootCaPublisher } from "./rootca";
import { startServiceAccountController } from "./serviceaccount";
import { startServiceLBController } from "./servicelb";
import { startStatefulSetController } from "./statefulset";

export interface RunningController {
  stop(): Promise<void>;
}

/** What every controller is started with, once per leadership term. */
export interface ControllerContext {
  client: KubeClient;
  /** The term's shared caches. */
  informers: SharedInformers;
  options: ControllersOptions;
}

/** A controller: its name (for logs and --disable) and how it starts. */
export interface Controller {
  name: string;
  start(ctx: ControllerContext): Promise<RunningController>;
}

export interface ControllersOptions {
  /** This server's identity in the Lease (e.g. hostname + a random suffix). */
  identity: string;
  /** --node-monitor-grace-period: a node silent this long is Unknown (default 20). */
  nodeMonitorGracePeriodS: number;
  /** --default-not-ready-toleration-seconds: how long pods stay on an unreachable node (default 10). */
  notReadyTolerationS: number;
  /** The autoscaler's --horizontal-pod-autoscaler-* settings (ms). */
  hpa?: { syncPeriodMs?: number; downscaleStabilizationMs?: number; cpuInitializationPeriodMs?: number };
  /** The cluster CA, published to every namespace as kube-root-ca.crt. */
  caCertPem: string;
  /** Where the built-in local-path provisioner puts volumes on the nodes; undefined: no provisioner (--disable local-storage). */
  localStorageRoot?: string;
  /** Names of CONTROLLERS left out (k3s's --disable servicelb; tests of other controllers). */
  disabled?: string[];
  /** More controllers to run under the same lease (the scheduler, tests). */
  extra?: Controller[];
  leaderElection?: Pick<LeaderElectionOptions, "leaseDurationS" | "renewDeadlineS" | "retryPeriodS" | "name" | "namespace">;
}

export interface RunningControllers extends RunningController {
  isLeader(): boolean;
  /** Resolves once this server leads and every controller has started (it may never lead). */
  leading: Promise<void>;
  /** What readyz reports: whether the loops run here, or who runs them. */
  status(): ControllersStatus;
}

export interface ControllersStatus {
  /** This server leads and every controller's start has settled in this term. */
  running: boolean;
  /** The controllers whose start failed in this term. */
  failed: string[];
  /** The Lease holder while another server leads (as last observed, not yet expired). */
  otherLeader?: string;
  /** Every shared informer started in this term has delivered its first list. */
  informersSynced: boolean;
}

/** Every controller bramble runs, as upstream's controller descriptors: one folder each. */
export const CONTROLLERS: readonly Controller[] = [
  { name: "garbage-collector", start: ({ client, informers }) => startGarbageCollector(client, { informers }) },
  { name: "namespace", start: ({ client, informers }) => startNamespaceController(client, { informers }) },
  { name: "serviceaccount", start: ({ client, informers }) => startServiceAccountController(client, { informers }) },
  { name: "endpoints", start: ({ client, informers }) => startEndpointsController(client, { informers }) },
  { name: "endpointslice", start: ({ client, informers }) => startEndpointSliceController(client, { informers }) },
  { name: "endpointslice-mirroring", start: ({ client, informers }) => startEndpointSliceMirroringController(client, { informers }) },
  {
    name: "node-lifecycle",
    start: ({ client, informers, options }) =>
      startNodeLifecycleController(client, { nodeMonitorGracePeriodS: options.nodeMonitorGracePeriodS, notReadyTolerationS: options.notReadyTolerationS, informers }),
  },
  { name: "podgc", start: ({ client, informers }) => startPodGarbageCollector(client, { informers }) },
  { name: "daemonset", start: ({ client, informers }) => startDaemonSetController(client, { informers }) },
  { name: "servicelb", start: ({ client, informers }) => startServiceLBController(client, { informers }) },
  { name: "replicaset", start: ({ client, informers }) => startReplicaSetController(client, { informers }) },
  { name: "replicationcontroller", start: ({ client, informers }) => startReplicationControllerController(client, { informers }) },
  { name: "deployment", start: ({ client, informers }) => startDeploymentController(client, { informers }) },
  { name: "disruption", start: ({ client, informers }) => startDisruptionController(client, { informers }) },
  { name: "resourcequota", start: ({ client, informers }) => startResourceQuotaController(client, { informers }) },
  { name: "statefulset", start: ({ client, informers }) => startStatefulSetController(client, { informers }) },
  { name: "job", start: ({ client, informers }) => startJobController(client, { informers }) },
  { name: "horizontal-pod-autoscaler", start: ({ client, informers, options }) => startHorizontalPodAutoscalerController(client, { informers, ...options.hpa }) },
  { name: "cronjob", start: ({ client, informers }) => startCronJobController(client, { informers }) },
  { name: "clusterrole-aggregation", start: ({ client, informers }) => startClusterRoleAggregationController(client, { informers }) },
  {
    name: "persistentvolume-binder",
    start: ({ client, informers, options }) => startPersistentVolumeController(client, { informers, localStorageRoot: options.localStorageRoot }),
  },
  { name: "root-ca-cert-publisher", start: ({ client, informers, options }) => startRootCaPublisher(client, { caCertPem: options.caCertPem, informers }) },
];

const log = createLogger("controller-manager");

export async function startControllers(client: KubeClient, opts: ControllersOptions): Promise<RunningControllers> {
  const disabled = new Set(opts.disabled ?? []);
  const unknown = [...disabled].filter((name) => !CONTROLLERS.some((c) => c.name === name));
  if (unknown.length) throw new Error(`no controller named ${unknown.join(", ")}`);
  const controllers = [...CONTROLLERS.filter((c) => !disabled.has(c.name)), ...(opts.extra ?? [])];

  let running: RunningController[] = [];
  let started = false;
  let failed: string[] = [];
  let informers: SharedInformers | undefined;
  let starting: Promise<void> | undefined;
  let resolveLeading!: () => void;
  const leading = new Promise<void>((r) => (resolveLeading = r));

  // One controller failing to start must not keep the others from running.
  const startAll = async () => {
    // One set of caches per leadership term. Every starter registers its handlers before its
    // first await, so all of them are in place before any list arrives.
    const term = (informers = new SharedInformers(client));
    const results = await Promise.allSettled(controllers.map((c) => c.start({ client, informers: term, options: opts })));
    results.forEach((r, i) => {
      if (r.status === "fulfilled") running.push(r.value);
      else {
        failed.push(controllers[i]!.name);
        log.error("controller failed to start", { controller: controllers[i]!.name, error: String(r.reason) });
      }
    });
    started = true;
    log.info("controllers running", { count: running.length });
    resolveLeading();
  };
  const stopAll = async () => {
    await starting;
    const stopping = running;
    running = [];
    started = false;
    failed = [];
    await Promise.allSettled(stopping.map((c) => c.stop()));
    informers?.stop();
    informers = undefined;
  };

  const elector = new LeaderElector(client, {
    identity: opts.identity,
    ...opts.leaderElection,
    // Started in the background: the elector must keep renewing while informers fill.
    onStartedLeading: () => void (starting = startAll()),
    onStoppedLeading: stopAll,
  });
  elector.start();
  return {
    leading,
    isLeader: () => elector.isLeader,
    status: () => ({
      running: started && elector.isLeader,
      failed: [...failed],
      otherLeader: elector.otherLeader,
      informersSynced: informers?.allSynced() ?? true,
    }),
    async stop() {
      await elector.stop(); // stops the controllers (onStoppedLeading) and hands the lease back
      await stopAll();
    },
  };
}
