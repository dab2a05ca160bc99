// startControllers: the controller manager. It contends for the `kube-system/bramble-controller-manager`
// Lease and, while it leads, runs every controller; losing the lease (or stop()) stops them
// all, so two servers never run the loops at once. The scheduler is started by the caller.
import type { KubeClient } from "../../client/client";
import { createLogger } from "../../machinery/log";
import { startDaemonSetController } from "./daemonset";
import { startEndpointsController } from "./endpoints";
import { startGarbageCollector } from "./gc";
import { SharedInformers } from "./informers";
import { LeaderElector, type LeaderElectionOptions } from "./leader";
import { startNamespaceController } from "./namespace";
import { startNodeLifecycleController } from "./nodelifecycle";
import { startPodGarbageCollector } from "./podgc";
import { startServiceAccountController } from "./serviceaccount";
import { startServiceLBController } from "./servicelb";

export interface RunningController {
  stop(): Promise<void>;
}
export type ControllerStarter = (client: KubeClient) => Promise<RunningController>;
/** bramble's own controllers also take the term's shared caches. */
export type SharingStarter = (client: KubeClient, informers: SharedInformers) => Promise<RunningController>;

export interface ControllersOptions {
  /** This server's identity in the Lease (e.g. hostname + a random suffix). */
  identity: string;
  /** --node-monitor-grace-period: a node silent this long is Unknown (default 20). */
  nodeMonitorGracePeriodS: number;
  /** --default-not-ready-toleration-seconds: how long pods stay on an unreachable node (default 10). */
  notReadyTolerationS: number;
  /** More controllers to run under the same lease (the scheduler, tests); named ones are named in status() and logs. */
  extra?: (SharingStarter | { name: string; start: SharingStarter })[];
  leaderElection?: Pick<LeaderElectionOptions, "leaseDurationS" | "renewDeadlineS" | "retryPeriodS" | "name" | "namespace">;
  /** Leave out the built-in ReplicaSet and Deployment controllers (tests of other controllers). */
  withoutWorkloads?: boolean;
  /** k3s's ServiceLB: LoadBalancer Services get node addresses (default true; false with --disable servicelb). */
  serviceLB?: boolean;
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

const log = createLogger("controller-manager");

/** The workload controllers live in their own folders; loaded lazily so this file does not own them. */
async function workloadStarters(): Promise<{ name: string; start: ControllerStarter }[]> {
  const out: { name: string; start: ControllerStarter }[] = [];
  try {
    out.push({ name: "replicaset", start: (await import("./replicaset")).startReplicaSetController });
  } catch (e) {
    log.warn("ReplicaSet controller unavailable", { error: String(e) });
  }
  try {
    out.push({ name: "deployment", start: (await import("./deployment")).startDeploymentController });
  } catch (e) {
    log.warn("Deployment controller unavailable", { error: String(e) });
  }
  return out;
}

export async function startControllers(client: KubeClient, opts: ControllersOptions): Promise<RunningControllers> {
  const starters: { name: string; start: SharingStarter }[] = [
    { name: "garbage-collector", start: (c, informers) => startGarbageCollector(c, { informers }) },
    { name: "namespace", start: (c, informers) => startNamespaceController(c, { informers }) },
    { name: "serviceaccount", start: (c, informers) => startServiceAccountController(c, { informers }) },
    { name: "endpoints", start: (c, informers) => startEndpointsController(c, { informers }) },
    {
      name: "node-lifecycle",
      start: (c, informers) =>
        startNodeLifecycleController(c, { nodeMonitorGracePeriodS: opts.nodeMonitorGracePeriodS, notReadyTolerationS: opts.notReadyTolerationS, informers }),
    },
    { name: "podgc", start: (c, informers) => startPodGarbageCollector(c, { informers }) },
    { name: "daemonset", start: (c, informers) => startDaemonSetController(c, { informers }) },
    ...(opts.serviceLB === false ? [] : [{ name: "servicelb", start: (c: KubeClient, informers: SharedInformers) => startServiceLBController(c, { informers }) }]),
    ...(opts.withoutWorkloads ? [] : await workloadStarters()),
    ...(opts.extra ?? []).map((e, i) => (typeof e === "function" ? { name: `extra-${i}`, start: e } : e)),
  ];

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
    const results = await Promise.allSettled(starters.map((s) => s.start(client, term)));
    results.forEach((r, i) => {
      if (r.status === "fulfilled") running.push(r.value);
      else {
        failed.push(starters[i].name);
        log.error("controller failed to start", { controller: starters[i].name, error: String(r.reason) });
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
