// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
// whoever holds an unexpired lease leads; the leader renews it every retry period with an
// optimistic-concurrency update; a candidate takes over only after the holder has not renewed
// for leaseDurationSeconds, measured on the candidate's own clock from when it last saw the
// record change (so the servers' clocks need not agree). A leader that cannot renew within the
// renew deadline, or sees someone else holding the lease, stops leading.
import { ApiError } from "../../api/errors";
import { leases, type Lease } from "../../api/resources/coordination/lease";
import type { KubeClient } from "../../client/client";
import { createLogger } from "../../machinery/log";

export interface LeaderElectionOptions {
  identity: string;
  namespace?: string;
  name?: string;
  /** How long a lease is valid without a renewal (whole seconds: the Lease field is an integer). */
  leaseDurationS?: number;
  /** A leader that has not renewed for this long gives up. Must be shorter than the lease. */
  renewDeadlineS?: number;
  /** Time between attempts to acquire or renew. */
  retryPeriodS?: number;
  onStartedLeading(): Promise<void> | void;
  onStoppedLeading(): Promise<void> | void;
}

/** metav1.MicroTime: RFC 3339 with microseconds, as upstream writes renewTime and acquireTime. */
export const microTime = (ms = Date.now()) => new Date(ms).toISOString().replace(/Z$/, "000Z");

export class LeaderElector {
  private readonly log = createLogger("leader-election");
  private readonly leases;
  private readonly namespace: string;
  private readonly name: string;
  private readonly durationS: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private leading = false;
  private stopped = false;
  private running?: Promise<void>;
  private wake?: () => void;
  /** The last record seen and when (local clock): the basis of "expired". */
  private observed = { spec: "", at: 0 };

  constructor(
    client: KubeClient,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.leases = client.resource<Lease>(leases);
    this.namespace = opts.namespace ?? "kube-system";
    this.name = opts.name ?? "bramble-controller-manager";
    this.durationS = Math.max(1, Math.round(opts.leaseDurationS ?? 15));
    this.renewDeadlineMs = (opts.renewDeadlineS ?? 10) * 1000;
    this.retryMs = (opts.retryPeriodS ?? 2) * 1000;
  }

  get isLeader() {
    return this.leading;
  }

  /** Another candidate's identity while its lease, as last observed, has not run out. */
  get otherLeader(): string | undefined {
    if (!this.observed.spec) return undefined;
    const spec = JSON.parse(this.observed.spec) as NonNullable<Lease["spec"]>;
    const holder = spec.holderIdentity ?? "";
    if (!holder || holder === this.opts.identity) return undefined;
    return this.observed.at + (spec.leaseDurationSeconds ?? this.durationS) * 1000 > Date.now() ? holder : undefined;
  }

  start() {
    this.running ??= this.run();
  }

  /** Stops contending; a leader stops its work and hands the lease back so another takes over at once. */
  async stop(opts: { release?: boolean } = {}) {
    this.stopped = true;
    this.wake?.();
    await this.running;
    if (this.leading) {
      this.leading = false;
      await this.callback("onStoppedLeading");
      if (opts.release !== false) await this.release().catch((e) => this.log.warn("could not release the lease", { error: String(e) }));
    }
  }

  private async run() {
    let lastRenew = 0;
    while (!this.stopped) {
      let outcome: "held" | "lost" | "failed";
      try {
        outcome = (await this.tryAcquireOrRenew()) ? "held" : "lost";
      } catch (e) {
        this.log.debug("lease attempt failed", { error: String(e) });
        outcome = "failed";
      }
      if (this.stopped) break;
      const now = Date.now();
      if (outcome === "held") {
        lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.log.info("became leader", { identity: this.opts.identity, lease: `${this.namespace}/${this.name}` });
          await this.callback("onStartedLeading");
        }
      } else if (this.leading && (outcome === "lost" || now - lastRenew > this.renewDeadlineMs)) {
        this.leading = false;
        this.log.warn("lost leadership", { identity: this.opts.identity, why: outcome === "lost" ? "another holder" : "renew deadline passed" });
        await this.callback("onStoppedLeading");
      }
      await this.sleep(this.leading ? this.retryMs : this.retryMs * (1 + Math.random() * 0.2));
    }
  }

  /** True when we hold the lease after this attempt. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = Date.now();
    let lease: Lease;
    try {
      lease = await this.leases.get(this.namespace, this.name);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
      const spec = { holderIdentity: this.opts.identity, leaseDurationSeconds: this.durationS, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 };
      try {
        await this.leases.create(this.namespace, { metadata: { name: this.name, namespace: this.namespace }, spec });
      } catch (e2) {
        if (e2 instanceof ApiError && e2.code === 409) return false; // another candidate created it first
        throw e2;
      }
      this.observe(spec, now);
      return true;
    }
    const spec = lease.spec ?? {};
    if (JSON.stringify(spec) !== this.observed.spec) this.observe(spec, now);
    const holder = spec.holderIdentity ?? "";
    const validFor = (spec.leaseDurationSeconds ?? this.durationS) * 1000;
    if (holder && holder !== this.opts.identity && this.observed.at + validFor > now) return false;

    const mine = holder === this.opts.identity;
    const next: Lease["spec"] = {
      ...spec,
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: this.durationS,
      renewTime: microTime(now),
      acquireTime: mine ? spec.acquireTime : microTime(now),
      leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
    };
    try {
      // resourceVersion from the read: a concurrent writer makes this a 409, never a double leader.
      const updated = await this.leases.update({ ...lease, spec: next });
      this.observe(updated.spec ?? next, now);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.code === 409) return false;
      throw e;
    }
  }

  /** What upstream's ReleaseOnCancel writes: no holder, so the next candidate need not wait. */
  private async release() {
    const lease = await this.leases.get(this.namespace, this.name);
    if (lease.spec?.holderIdentity !== this.opts.identity) return;
    const now = microTime();
    await this.leases.update({ ...lease, spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: now, acquireTime: now } });
  }

  private observe(spec: NonNullable<Lease["spec"]>, at: number) {
    this.observed = { spec: JSON.stringify(spec), at };
  }

  private async callback(which: "onStartedLeading" | "onStoppedLeading") {
    try {
      await this.opts[which]();
    } catch (e) {
      this.log.error(`${which} failed`, { error: String(e) });
    }
  }

  private sleep(ms: number) {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
