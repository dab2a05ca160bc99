// startNetworkPolicy: every agent enforces the NetworkPolicies for the pods on its node. Three
// watches (NetworkPolicies; once there is a policy, Pods, slimmed to what selection and named
// ports read, and Namespaces, reduced to their labels) mark the rules dirty; one sync at a time renders them all and runs one
// iptables-restore when the text differs from what was applied last. A full rewrite (stale
// chains swept, the FORWARD jump put back on top) runs at start, periodically and after a failure.
import type { Namespace } from "../../api/resources/core/namespace";
import type { Pod } from "../../api/resources/core/pod";
import type { NetworkPolicy } from "../../api/resources/networking/networkpolicy";
import { KINDS } from "../../api/kinds";
import type { KubeClient } from "../../client/client";
import { Informer } from "../../client/informer";
import { Backoff } from "../../machinery/backoff";
import type { Logger } from "../../machinery/log";
import { runCommand, type CommandRunner } from "../host/run";
import { iptablesRestore } from "../proxy/iptables";
import { isPolicyChain, NWPLCY } from "./chains";
import { renderPolicies, restoreText } from "./render";

export interface NetworkPolicyOptions {
  client: KubeClient;
  nodeName: string;
  run?: CommandRunner;
  log: Logger;
  /** Everything rewritten this often; default 5 minutes. */
  fullSyncIntervalMs?: number;
}

export interface NetworkPolicyEnforcer {
  stop(): Promise<void>;
  /** Resolves when no change is waiting and no sync is running. */
  idle(): Promise<void>;
}

const JUMP = ["-m", "comment", "--comment", "bramble network policies", "-j", NWPLCY];

/** Pods reduced to what policy rendering reads. */
export function slimPod(p: Pod): Pod {
  const ports = (cs: NonNullable<Pod["spec"]>["containers"] | undefined) => (cs ?? []).filter((c) => c.ports?.length).map((c) => ({ name: c.name, ports: c.ports!.map((x) => ({ name: x.name, containerPort: x.containerPort, protocol: x.protocol })) }));
  return {
    metadata: { name: p.metadata.name, namespace: p.metadata.namespace, labels: p.metadata.labels, resourceVersion: p.metadata.resourceVersion },
    spec: { nodeName: p.spec?.nodeName, hostNetwork: p.spec?.hostNetwork, containers: ports(p.spec?.containers), initContainers: ports(p.spec?.initContainers) },
    status: { podIP: p.status?.podIP, phase: p.status?.phase },
  } as Pod;
}

const slimNamespace = (n: Namespace) => ({ metadata: { name: n.metadata.name, labels: n.metadata.labels, resourceVersion: n.metadata.resourceVersion } }) as Namespace;
const slimPolicy = (np: NetworkPolicy) => (np.metadata.managedFields ? { ...np, metadata: { ...np.metadata, managedFields: undefined } } : np);

/** Puts the jump to our chain first in FORWARD (ahead of the pod network's and Docker's accepts). */
export async function ensureForwardJump(run: CommandRunner): Promise<boolean> {
  const r = await run(["iptables", "-w", "5", "-t", "filter", "-S", "FORWARD"]);
  if (r.code !== 0) throw new Error(`iptables -S FORWARD failed (exit ${r.code}): ${r.stderr.trim()}`);
  const rules = r.stdout.split("\n").filter((l) => l.startsWith("-A FORWARD"));
  const ours = (l: string) => l.includes('"bramble network policies"') && l.trimEnd().endsWith(`-j ${NWPLCY}`);
  if (rules.length && ours(rules[0]!) && rules.filter(ours).length === 1) return false;
  for (let i = rules.filter(ours).length; i > 0; i--) await run(["iptables", "-w", "5", "-t", "filter", "-D", "FORWARD", ...JUMP]);
  const ins = await run(["iptables", "-w", "5", "-t", "filter", "-I", "FORWARD", "1", ...JUMP]);
  if (ins.code !== 0) throw new Error(`iptables -I FORWARD failed (exit ${ins.code}): ${ins.stderr.trim()}`);
  return true;
}

export async function startNetworkPolicy(o: NetworkPolicyOptions): Promise<NetworkPolicyEnforcer> {
  const run = o.run ?? runCommand;
  const log = o.log;
  const policies = new Informer<NetworkPolicy>(o.client.resource<NetworkPolicy>(KINDS.networkPolicies), { transform: slimPolicy });
  const pods = new Informer<Pod>(o.client.resource<Pod>(KINDS.pods), { transform: slimPod, pageSize: 100 });
  const namespaces = new Informer<Namespace>(o.client.resource<Namespace>(KINDS.namespaces), { transform: slimNamespace });

  let applied: string | undefined;
  let needFull = true;
  let dirty = false;
  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let ready = false;
  const backoff = new Backoff(500, 30_000);
  const idleWaiters: (() => void)[] = [];

  /** The chains last written, and their text (without stale-chain deletions). */
  let appliedChains = new Set<string>();

  /**
   * The pod and namespace watches start with the first policy: a cluster without NetworkPolicies
   * (the common case) costs its agents one watch, not three. Until they have listed, nothing is
   * written (rules from an empty pod list would drop every pod's isolation for a moment).
   */
  let peersStarted: Promise<void> | undefined;
  let peersReady = false;
  let peersPendingFull = false;
  const startPeers = () =>
    (peersStarted ??= Promise.all([pods.start(), namespaces.start()]).then(() => {
      peersReady = true;
      needFull ||= peersPendingFull;
      dirty = true;
      schedule();
    }));

  const peersStarting = () => peersStarted !== undefined && !peersReady;

  async function syncOnce() {
    const full = needFull;
    needFull = false;
    dirty = false;
    if (!peersReady && policies.list().length > 0) {
      peersPendingFull ||= full;
      void startPeers();
      return;
    }
    const chains = renderPolicies({ nodeName: o.nodeName, policies: policies.list(), pods: pods.list(), namespaces: namespaces.list() });
    const wanted = restoreText(chains, []);
    if (!full && wanted === applied) return;
    let stale = [...appliedChains].filter((c) => !chains.has(c));
    if (full) {
      const saved = await run(["iptables-save", "-t", "filter"]);
      if (saved.code !== 0) throw new Error(`iptables-save failed (exit ${saved.code}): ${saved.stderr.trim()}`);
      stale = saved.stdout.split("\n").filter((l) => l.startsWith(":BRAMBLE-")).map((l) => l.slice(1, l.indexOf(" "))).filter((c) => isPolicyChain(c) && !chains.has(c));
    }
    const text = restoreText(chains, stale);
    await iptablesRestore(run, text);
    applied = wanted;
    appliedChains = new Set(chains.keys());
    if (full) {
      if (await ensureForwardJump(run)) log.info("network policy chain hooked first into FORWARD");
      log.info("network policy rules synced", { kind: "full", chains: chains.size, staleChainsRemoved: stale.length, bytes: text.length });
    } else log.debug("network policy rules synced", { chains: chains.size, bytes: text.length });
  }

  const schedule = (delay = 0) => {
    if (stopped || running || timer || !ready) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = (async () => {
        while (!stopped && (dirty || needFull)) {
          try {
            await syncOnce();
            backoff.reset();
          } catch (e) {
            needFull = true;
            const retry = backoff.next();
            log.error("applying network policy rules failed; the previous rules stay in force, retrying", { error: (e as Error).message, retryInMs: retry });
            running = undefined;
            schedule(retry);
            return;
          }
        }
      })().finally(() => {
        running = undefined;
        if ((dirty || needFull) && !timer) schedule();
        else if (!timer && !peersStarting()) for (const w of idleWaiters.splice(0)) w();
      });
    }, delay);
  };
  const mark = () => {
    dirty = true;
    schedule();
  };
  policies.on({ add: mark, update: mark, delete: mark });
  pods.on({ add: mark, update: mark, delete: mark });
  namespaces.on({ add: mark, update: mark, delete: mark });
  // Pod-to-pod traffic on the node's bridge meets FORWARD only with br_netfilter's hook on (the
  // proxy sets it too, but may be off with --disable-kube-proxy).
  const br = await run(["sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"]);
  if (br.code !== 0) log.warn("bridge-nf-call-iptables could not be set: policies do not apply between pods of this node", { error: br.stderr.trim() || "br_netfilter not loaded" });
  await policies.start();
  if (policies.list().length > 0) await startPeers();
  ready = true;
  needFull = true;
  schedule();
  await new Promise<void>((r) => idleWaiters.push(r));
  const periodic = setInterval(() => {
    needFull = true;
    schedule();
  }, o.fullSyncIntervalMs ?? 300_000);
  log.info("network policy enforcement running", { node: o.nodeName });

  return {
    idle: () => (!running && !timer && !dirty && !needFull && !peersStarting() ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r))),
    async stop() {
      stopped = true;
      clearInterval(periodic);
      if (timer) clearTimeout(timer);
      policies.stop();
      pods.stop();
      namespaces.stop();
      await running;
      for (const w of idleWaiters.splice(0)) w();
    },
  };
}
