// startServiceProxy: informers on Services and EndpointSlices (the agent's shared slice watch)
// feed a ProxySyncer. (No Node informer:
// NodePorts match every local address with `addrtype --dst-type LOCAL`, so the rules never need
// the node's addresses, and this node's status updates would only wake us for nothing.) Events
// only mark Services dirty; one sync runs at a time and picks up everything marked meanwhile,
// so a burst (a Deployment scaling, 1,000 Services at start) costs a few restores, not one each.
// A failed restore leaves the previous rules in force (each table is atomic), is logged, and is
// retried with backoff as a full sync.
import { recordSync } from "./metrics";
import type { Service } from "../../api/resources/core/service";
import type { EndpointSlice } from "../../api/resources/discovery/endpointslice";
import { serviceKeyOfSlice } from "../../api/resources/discovery/labels";
import { services as servicesDef } from "../../client/refs";
import type { KubeClient } from "../../client/client";
import { Informer, objectKeyOf } from "../../client/informer";
import { Backoff } from "../../machinery/backoff";
import type { Logger } from "../../machinery/log";
import type { ClusterNetwork } from "../cluster-network";
import { ServiceSlices } from "../service-slices";
import { runCommand, type CommandRunner } from "../host/run";
import { ensureSysctls } from "./iptables";
import { renderContext } from "./render";
import { ProxySyncer } from "./syncer";
import { HealthCheckServers } from "./health";

export interface ServiceProxyOptions {
  client: KubeClient;
  nodeName: string;
  nodeIps: string[];
  cluster: ClusterNetwork;
  run?: CommandRunner;
  log: Logger;
  /** The agent's shared EndpointSlice watch; without one the proxy runs (and stops) its own. */
  slices?: ServiceSlices;
  /** Everything rewritten (and stale chains swept) this often; default 5 minutes. */
  fullSyncIntervalMs?: number;
  /** How long a change waits for others to join it in one restore; default 0 (the next tick). */
  coalesceMs?: number;
  /** Where health check NodePorts listen; default every address (0.0.0.0). */
  healthCheckAddress?: string;
}

export interface ServiceProxy {
  stop(): Promise<void>;
  /** Resolves when no change is waiting and no sync is running (for tests and benchmarks). */
  idle(): Promise<void>;
}

export async function startServiceProxy(o: ServiceProxyOptions): Promise<ServiceProxy> {
  const run = o.run ?? runCommand;
  const log = o.log;
  const svcInformer = new Informer<Service>(o.client.resource<Service>(servicesDef), { transform: dropManagedFields });
  const slices = o.slices ?? new ServiceSlices(o.client);
  // The Service at the cluster DNS address (kube-system/kube-dns) gets no rules while this node
  // answers DNS there itself: a DNAT would send the node's and its pods' queries elsewhere.
  const proxied = (svc: Service | undefined) => (svc && !isNodeLocalDns(svc, o.cluster) ? svc : undefined);
  const syncer = new ProxySyncer(
    run,
    {
      services: () => svcInformer.list().filter((s) => proxied(s)),
      service: (k) => proxied(svcInformer.get(k)),
      slices: (k) => slices.of(k),
    },
    renderContext({ nodeName: o.nodeName, cluster: o.cluster }),
    (msg, fields) => log.warn(msg, fields),
  );

  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let retryAt = 0;
  const backoff = new Backoff(500, 30_000);
  let lastSyncOk = true;
  const health = new HealthCheckServers(
    { services: () => svcInformer.list(), service: (k) => svcInformer.get(k), slices: (k) => slices.of(k) ?? [], nodeName: o.nodeName, proxyHealthy: () => lastSyncOk },
    log,
    o.healthCheckAddress,
  );
  const idleWaiters: (() => void)[] = [];
  let firstAttempt!: () => void;
  const firstAttemptDone = new Promise<void>((r) => (firstAttempt = r));

  const schedule = (delayMs = o.coalesceMs ?? 0) => {
    if (stopped || running || timer) return;
    const wait = Math.max(delayMs, retryAt - Date.now());
    timer = setTimeout(() => {
      timer = undefined;
      running = syncLoop().finally(() => {
        running = undefined;
        firstAttempt();
        if (syncer.pending) schedule();
        else if (!timer) for (const w of idleWaiters.splice(0)) w();
      });
    }, wait);
  };

  async function syncLoop() {
    while (!stopped && syncer.pending) {
      const started = performance.now();
      try {
        const r = await syncer.sync();
        if (r.kind !== "none") recordSync(true, started);
        backoff.reset();
        retryAt = 0;
        lastSyncOk = true;
        const ms = Math.round(performance.now() - started);
        if (r.kind === "full") log.info("rules synced", { kind: r.kind, services: r.services, staleChainsRemoved: r.staleChains, bytes: r.bytes, ms });
        else if (r.kind === "partial") log.debug("rules synced", { kind: r.kind, services: r.services, bytes: r.bytes, ms });
      } catch (e) {
        recordSync(false, started);
        lastSyncOk = false;
        const delay = backoff.next();
        retryAt = Date.now() + delay;
        log.error("applying Service rules failed; the previous rules stay in force, retrying with a full sync", { error: (e as Error).message, retryInMs: delay });
        return;
      }
    }
  }

  // Nothing is synced before both caches are full: Services listed before their slices would
  // be written as having none (REJECT), for a moment, over the rules of an earlier run.
  let ready = false;
  const dirty = (key: string | undefined) => {
    if (!key) return;
    syncer.markDirty(key);
    if (ready) schedule();
  };
  const onService = (svc: Service) => {
    dirty(objectKeyOf(svc));
    if (ready) health.sync();
  };
  const onSlice = (s: EndpointSlice) => dirty(serviceKeyOfSlice(s));
  svcInformer.on({ add: onService, update: (_, n) => onService(n), delete: onService });
  slices.on({ add: onSlice, update: (o, n) => (onSlice(o), onSlice(n)), delete: onSlice });
  log.info("Service proxy starting", { node: o.nodeName, nodeIps: o.nodeIps, serviceCidr: o.cluster.serviceCidr, clusterCidr: o.cluster.clusterCidr });
  // Host settings first: rules for 127.0.0.1 NodePorts are useless without route_localnet.
  for (const p of await ensureSysctls(run)) log.warn("a sysctl the Service rules rely on could not be set", { problem: p });
  await Promise.all([svcInformer.start(), slices.start()]);
  ready = true;
  health.sync();
  // The first sync (full) is awaited so Services work once we return; if it failed, it is logged
  // and retried in the background.
  syncer.markFull();
  schedule(0);
  await firstAttemptDone;

  const periodic = setInterval(() => {
    health.sync(); // a health check port that was busy is tried again
    syncer.markFull();
    schedule();
  }, o.fullSyncIntervalMs ?? 300_000);

  return {
    idle: () => (!running && !timer && !syncer.pending ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r))),
    async stop() {
      stopped = true;
      clearInterval(periodic);
      if (timer) clearTimeout(timer);
      svcInformer.stop();
      health.stop();
      if (!o.slices) slices.stop();
      await running;
      for (const w of idleWaiters.splice(0)) w();
      // The rules stay: Services keep working through an agent restart, and the next agent's
      // first full sync takes them over. `bramble reset` removes them.
    },
  };
}

/** The Service at the cluster DNS address while every node answers there itself (kube-system/kube-dns): it gets no rules. */
export function isNodeLocalDns(svc: Service, cluster: Pick<ClusterNetwork, "clusterDns" | "clusterDnsServer">): boolean {
  return cluster.clusterDnsServer && !!cluster.clusterDns && svc.spec?.clusterIP === cluster.clusterDns;
}

/** The proxy reads spec and status only: no need to keep managedFields in memory. */
function dropManagedFields(obj: Service): Service {
  if (obj.metadata.managedFields) obj.metadata = { ...obj.metadata, managedFields: undefined };
  return obj;
}
