// Cluster DNS served by the agent itself (no CoreDNS pod): informers keep slim copies of
// Services and EndpointSlices (and Pods in "verified" mode), every query is answered from them, and
// names outside the cluster zone go to the node's resolvers. The lead wires it as
//   await ensureDnsAddress(cluster.clusterDns); await startClusterDns({ listen: { address: cluster.clusterDns }, ... })
import { countedHandler } from "./metrics";
import * as dnsPacket from "dns-packet";
import type { Pod } from "../../api/resources/core/pod";
import type { Service } from "../../api/resources/core/service";
import { pods as podsDef, services as servicesDef } from "../../client/refs";
import type { KubeClient } from "../../client/client";
import { Informer } from "../../client/informer";
import type { Logger } from "../../machinery/log";
import type { ClusterNetwork } from "../cluster-network";
import type { CommandRunner } from "../host/run";
import { ServiceSlices } from "../service-slices";
import { AnswerCache, answerQuery, errorResponse, type QueryContext } from "./answer";
import { ForwardCache } from "./forward-cache";
import { listenDns, type Listening } from "./listen";
import { readQuery } from "./question";
import { ClusterRecords, slimPod, slimService } from "./records";
import { DEFAULT_RESOLVER_OPTIONS, resolve, type ResolverOptions } from "./resolver";
import { defaultUpstreams, Forwarder, parseUpstream } from "./upstream";

export { ensureDnsAddress, removeDnsAddress, DNS_INTERFACE } from "./address";
export { defaultUpstreams } from "./upstream";

export interface ClusterDnsOptions {
  client: KubeClient;
  cluster: ClusterNetwork;
  listen: { address: string; /** default 53; 0 picks a free port */ port?: number };
  /** "ip" or "ip:port"; default: the node's resolv.conf nameservers, minus loopback stubs and the cluster DNS IP. */
  upstreams?: string[];
  /** Time each upstream gets before the next is tried; default 2000 ms (a stub resolver waits 5 s). */
  upstreamTimeoutMs?: number;
  /** Pod records: "insecure" (default, k3s's: no pod watch) or "verified" (watches all pods' IPs). */
  pods?: ResolverOptions["pods"];
  /** The agent's shared EndpointSlice watch; without one the DNS runs (and stops) its own. */
  slices?: ServiceSlices;
  /** Unused today: the address is set up by ensureDnsAddress. Kept for the agent's uniform wiring. */
  run?: CommandRunner;
  log: Logger;
}

export interface ClusterDns {
  /** The bound port; 0 while binding keeps failing (retried in the background). */
  readonly port: number;
  stop(): Promise<void>;
}

/** How often a failed bind is tried again (the address may appear later, or the port be freed). */
const REBIND_MS = 10_000;

export async function startClusterDns(opts: ClusterDnsOptions): Promise<ClusterDns> {
  const log = opts.log;
  const resolver: ResolverOptions = { ...DEFAULT_RESOLVER_OPTIONS, pods: opts.pods ?? DEFAULT_RESOLVER_OPTIONS.pods };
  const records = new ClusterRecords(opts.cluster.clusterDomain.toLowerCase().replace(/\.$/, ""));
  const upstreams = (opts.upstreams ?? defaultUpstreams(opts.cluster.clusterDns)).map(parseUpstream);
  if (!upstreams.length) log.warn("no upstream resolvers: names outside the cluster domain will get SERVFAIL", { domain: records.domain });
  const forwarder = new Forwarder({ upstreams, timeoutMs: opts.upstreamTimeoutMs ?? 2000, log });
  await forwarder.start();

  const informers = watchCluster(opts.client, records, resolver.pods, opts.slices);
  let synced = false;
  void Promise.all(informers.map((i) => i.synced)).then(() => {
    synced = true;
    log.info("cluster DNS has the cluster's services", { domain: records.domain });
  });

  const ctx: QueryContext = { records, forwarder, resolver, cache: new AnswerCache(), forwardCache: new ForwardCache() };
  const handle = (query: Buffer, udp: boolean) => {
    // Until the first lists arrive, an in-zone name would be a false NXDOMAIN (cached by clients):
    // SERVFAIL makes them try again instead. Names outside the zone are forwarded meanwhile.
    if (!synced && inZoneBeforeSync(records, query)) return errorResponse(query, "SERVFAIL");
    return answerQuery(ctx, query, udp);
  };

  const { address, port = 53 } = opts.listen;
  let listening: Listening | undefined;
  let stopped = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const counted = countedHandler(handle);
  const bind = async (first: boolean) => {
    try {
      listening = await listenDns(address, port, counted);
      log.info("cluster DNS listening", { address, port: listening.port, upstreams: upstreams.map((u) => `${u.host}:${u.port}`).join(",") || "none" });
    } catch (e) {
      if (first) log.error("cluster DNS cannot listen; pods on this node get no DNS until it can (retrying)", { address, port, error: String(e) });
      if (!stopped) retry = setTimeout(() => void bind(false), REBIND_MS);
    }
  };
  await bind(true);

  for (const i of informers) void i.start();
  return {
    get port() {
      return listening?.port ?? 0;
    },
    async stop() {
      stopped = true;
      clearTimeout(retry);
      listening?.close();
      for (const i of informers) i.stop();
      forwarder.close();
    },
  };
}

/** What startClusterDns needs of an informer, whatever it holds. */
interface Watcher {
  synced: Promise<void>;
  start(): Promise<void>;
  stop(): void;
}

function watchCluster(client: KubeClient, records: ClusterRecords, pods: ResolverOptions["pods"], shared: ServiceSlices | undefined): Watcher[] {
  const svc = new Informer<Service>(client.resource<Service>(servicesDef), { transform: slimService }).on({
    add: (o) => records.upsertService(o),
    update: (_, o) => records.upsertService(o),
    delete: (o) => records.deleteService(o),
  });
  const slices = shared ?? new ServiceSlices(client);
  slices.on({
    add: (o) => records.upsertSlice(o),
    update: (old, o) => (records.deleteSlice(old), records.upsertSlice(o)),
    delete: (o) => records.deleteSlice(o),
  });
  // A shared watch is its owner's to stop.
  const ep: Watcher = { synced: slices.synced, start: () => slices.start(), stop: () => void (!shared && slices.stop()) };
  const list: Watcher[] = [svc, ep];
  if (pods === "verified") {
    list.push(
      new Informer<Pod>(client.resource<Pod>(podsDef), { transform: slimPod }).on({
        add: (o) => records.upsertPod(o),
        update: (_, o) => records.upsertPod(o),
        delete: (o) => records.deletePod(o),
      }),
    );
  }
  return list;
}

/** Whether a query asks about the cluster zone (decoded cheaply via the resolver; errors count as no). */
function inZoneBeforeSync(records: ClusterRecords, query: Buffer): boolean {
  try {
    const q = readQuery(query)?.question ?? dnsPacket.decode(query).questions?.[0];
    return q ? resolve(records, q).kind === "answer" : false;
  } catch {
    return false;
  }
}
