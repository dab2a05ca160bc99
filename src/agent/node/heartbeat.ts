// Node heartbeats for any number of nodes in one process: the real agent has one, `bramble sim`
// a thousand. Two jobs per node, as upstream's kubelet since node leases:
//   - renew the Lease in kube-node-lease every 10 s (cheap, and what the node lifecycle
//     controller watches: a Lease older than its grace period means the node is lost);
//   - report the Node's status (conditions' lastHeartbeatTime) only every few minutes, or at once
//     when it changes or someone else changed it (the lifecycle controller writing Ready=Unknown).
// All jobs share one DueQueue timer and one concurrency limit, and nodes are spread over the
// interval by the golden ratio, so N nodes make a steady N/10 requests per second, not bursts.
import { ApiError } from "../../api/errors";
import type { Lease } from "../../api/resources/coordination/lease";
import type { Node, NodeCondition } from "../../api/resources/core/node";
import { leases, nodes } from "../../client/refs";
import type { KubeClient } from "../../client/client";
import { createLogger, type Logger } from "../../machinery/log";
import { nodeConditions, sameConditions, type NodeHealth } from "./conditions";
import { NODE_LEASE_DURATION_SECONDS, renewNodeLease } from "./lease";
import { staticNodeStatus, type NodeConfig } from "./spec";
import { DueQueue, Limiter } from "./timers";
import { throttledWarn } from "./warn";

export interface HeartbeatOptions {
  /** Lease renewal period; upstream's kubelet renews every 10 s (a quarter of the duration). */
  leaseIntervalMs?: number;
  leaseDurationSeconds?: number;
  /**
   * How often an unchanged status is reported anyway. Upstream's nodeStatusReportFrequency is
   * 5 min; every report is a database write on the server (SD-card wear), so we keep that.
   */
  statusReportIntervalMs?: number;
  /** Requests in flight at once across all nodes. */
  concurrency?: number;
  now?: () => Date;
  log?: Logger;
}

export interface HeartbeatMember {
  config: NodeConfig;
  /** The Node as registered: its uid owns the Lease; its conditions seed transition times. */
  node: Node;
  /** What is wrong with the node right now; absent means healthy. */
  health?: () => NodeHealth;
}

export interface Heartbeat {
  add(member: HeartbeatMember): void;
  /** Stops heartbeating a node (it was deleted); its Lease is left to expire. */
  remove(name: string): void;
  /** The Node as an informer sees it: a status that is not ours gets reported again at once. */
  observe(node: Node): void;
  /** The member's health() changed: report status now instead of at the next period. */
  healthChanged(name: string): void;
  names(): string[];
  /** No more requests after this resolves (in-flight ones have settled). */
  stop(): Promise<void>;
}

const GOLDEN = 0.6180339887498949;
const RETRY_BASE_MS = 500;

interface Tracked extends HeartbeatMember {
  phase: number;
  lease?: Lease;
  nextLeaseAt: number;
  leaseFailures: number;
  statusFailures: number;
  /** Conditions of our last successful report. */
  reported?: NodeCondition[];
  busy: Set<"lease" | "status">;
}

export function startHeartbeat(client: KubeClient, opts: HeartbeatOptions = {}): Heartbeat {
  const leaseInterval = opts.leaseIntervalMs ?? 10_000;
  const statusInterval = opts.statusReportIntervalMs ?? 300_000;
  const duration = opts.leaseDurationSeconds ?? NODE_LEASE_DURATION_SECONDS;
  const now = opts.now ?? (() => new Date());
  const log = opts.log ?? createLogger("heartbeat");
  const leaseApi = client.resource<Lease>(leases);
  const nodeApi = client.resource<Node>(nodes);
  const limiter = new Limiter(opts.concurrency ?? 16);
  const members = new Map<string, Tracked>();
  const inflight = new Set<Promise<void>>();
  const failures = throttledWarn(log);
  let added = 0;
  let stopped = false;

  const queue = new DueQueue((key) => {
    const name = key.slice(2);
    const t = members.get(name);
    if (t) void run(t, key[0] === "L" ? "lease" : "status");
  });
  const retryDelay = (n: number) => Math.min(leaseInterval, RETRY_BASE_MS * 2 ** (n - 1));

  function run(t: Tracked, job: "lease" | "status"): Promise<void> {
    // One request per job per node at a time; a slow one is not stacked with the next.
    if (t.busy.has(job) || stopped) return Promise.resolve();
    t.busy.add(job);
    const p = limiter
      .run(() => (job === "lease" ? renewLease(t) : reportStatus(t)))
      .finally(() => {
        t.busy.delete(job);
        inflight.delete(p);
      });
    inflight.add(p);
    return p;
  }

  async function renewLease(t: Tracked) {
    const name = t.config.name;
    try {
      t.lease = await renewNodeLease(leaseApi, { nodeName: name, nodeUid: t.node.metadata.uid, durationSeconds: duration }, t.lease, now());
      t.leaseFailures = 0;
      const at = Date.now();
      while (t.nextLeaseAt <= at) t.nextLeaseAt += leaseInterval;
      if (members.get(name) === t) queue.schedule(`L:${name}`, t.nextLeaseAt);
    } catch (e) {
      t.leaseFailures++;
      failures("lease renewal failed", { node: name }, e);
      if (members.get(name) === t) queue.schedule(`L:${name}`, Date.now() + retryDelay(t.leaseFailures));
    }
  }

  async function reportStatus(t: Tracked) {
    const name = t.config.name;
    try {
      const conditions = nodeConditions(t.health?.() ?? {}, t.reported ?? t.node.status?.conditions, now());
      const status = { ...staticNodeStatus(t.config), conditions };
      t.node = await nodeApi.patch(undefined, name, { status }, "merge", "status");
      t.reported = conditions;
      t.statusFailures = 0;
      if (members.get(name) === t) queue.schedule(`S:${name}`, Date.now() + statusInterval);
    } catch (e) {
      t.statusFailures++;
      // A deleted Node is not re-created behind the user's back (upstream's kubelet does not
      // either until it restarts); keep trying slowly in case it comes back.
      const gone = e instanceof ApiError && e.code === 404;
      failures(gone ? "node status update failed: the Node was deleted" : "node status update failed", { node: name }, e);
      if (members.get(name) === t) queue.schedule(`S:${name}`, Date.now() + (gone ? statusInterval : retryDelay(t.statusFailures)));
    }
  }

  return {
    add(m) {
      if (stopped) return;
      const name = m.config.name;
      this.remove(name);
      const phase = (added++ * GOLDEN) % 1;
      const start = Date.now();
      const t: Tracked = { ...m, phase, nextLeaseAt: start + phase * leaseInterval, leaseFailures: 0, statusFailures: 0, reported: m.node.status?.conditions, busy: new Set() };
      members.set(name, t);
      // The first renewal goes out at once: a registered node without a Lease looks lost.
      queue.schedule(`L:${name}`, start);
      // Registration just reported status; the first periodic report lands somewhere in the
      // second half of the interval so that nodes registered together do not report together.
      queue.schedule(`S:${name}`, start + statusInterval * (0.5 + phase / 2));
    },
    remove(name) {
      if (!members.delete(name)) return;
      queue.cancel(`L:${name}`);
      queue.cancel(`S:${name}`);
    },
    observe(node) {
      const t = members.get(node.metadata.name ?? "");
      if (!t || t.busy.has("status")) return;
      if (!sameConditions(node.status?.conditions, t.reported)) queue.schedule(`S:${t.config.name}`, Date.now());
    },
    healthChanged(name) {
      if (members.has(name)) queue.schedule(`S:${name}`, Date.now());
    },
    names: () => [...members.keys()],
    async stop() {
      stopped = true;
      queue.stop();
      await Promise.allSettled([...inflight]);
    },
  };
}
