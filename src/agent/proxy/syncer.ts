// Keeps the kernel's BRAMBLE- chains equal to what the Services and EndpointSlices say, with as little
// iptables work as possible: a full sync (everything, stale chains swept) at start, periodically
// and after any failure; otherwise only the chains of the Services that changed, plus the shared
// dispatch chains when their text changed. What was applied is remembered per Service, so a
// change is a diff against that, not against the kernel (reading 20,000 rules back costs more
// than writing a few).
import type { EndpointSlice } from "../../api/resources/discovery/endpointslice";
import type { Service } from "../../api/resources/core/service";
import type { CommandRunner } from "../host/run";
import { NODEPORTS, SERVICES } from "./chains";
import { staleUdpFlows } from "./conntrack";
import { ensureJumps, iptablesRestore, iptablesSaveAll, ourChains, RestoreError } from "./iptables";
import {
  FILTER_CHAINS,
  filterRules,
  natDispatch,
  NAT_STATIC_CHAINS,
  renderFull,
  renderService,
  restoreText,
  type RenderContext,
  type RenderedService,
} from "./render";

/** Where the syncer reads the current objects from (the informers' caches). */
export interface ProxySource {
  services(): Iterable<Service>;
  service(key: string): Service | undefined;
  /** The Service's EndpointSlices (by its namespace/name), merged by the renderer. */
  slices(key: string): readonly EndpointSlice[] | undefined;
}

export interface SyncResult {
  kind: "full" | "partial" | "none";
  /** Services re-rendered. */
  services: number;
  /** Bytes of iptables-restore input. */
  bytes: number;
  staleChains?: number;
  /** `conntrack -D` runs for UDP flows to endpoints that went away (partial syncs). */
  udpFlowDeletes?: number;
  /** Where a full sync's time went, ms: reading the ruleset back, rendering, the restore, the jump check. */
  steps?: { saveMs: number; renderMs: number; restoreMs: number; jumpsMs: number };
}

const keyOf = (o: { metadata: { namespace?: string; name?: string } }) => `${o.metadata.namespace}/${o.metadata.name}`;

export class ProxySyncer {
  /** What the kernel holds, per Service, as of the last successful restore. */
  private applied = new Map<string, RenderedService>();
  private appliedDispatch = "";
  private appliedFilter = "";
  private dirty = new Set<string>();
  private needFull = true;

  private conntrackMissing = false;
  /**
   * Services whose rules the kernel refused: left out until their Service or EndpointSlices
   * change, so one bad Service cannot keep every other one from being programmed.
   */
  private readonly quarantined = new Set<string>();
  private suspect: string | undefined;

  constructor(
    private readonly run: CommandRunner,
    private readonly source: ProxySource,
    private ctx: RenderContext,
    private readonly warn: (msg: string, fields?: Record<string, unknown>) => void = () => {},
  ) {}

  /** A Service's rules may have changed (its Service or one of its EndpointSlices did). */
  markDirty(key: string) {
    this.dirty.add(key);
    if (this.quarantined.delete(key)) this.needFull = true;
  }

  /** Services left out because the kernel refused their rules. */
  get refused(): string[] {
    return [...this.quarantined];
  }

  /**
   * A refused rule that belongs to one Service (its comment says which) puts that Service aside
   * when it is refused twice in a row (once could be anything passing; the retry is a full sync).
   */
  private quarantine(e: unknown) {
    if (!(e instanceof RestoreError) || !e.line) return;
    const key = /--comment "(?:[a-z]+ (?:LOCAL )?traffic for )?([a-z0-9-]+\/[a-z0-9-]+):/.exec(e.line)?.[1];
    if (!key || this.quarantined.has(key)) return;
    if (this.suspect !== key) {
      this.suspect = key;
      return;
    }
    this.suspect = undefined;
    this.quarantined.add(key);
    this.warn("the kernel refused a Service's rules; it is left out until it changes", { service: key, rule: e.line });
  }

  /** The next sync rewrites everything (start, period, after a failure, settings changed). */
  markFull(ctx?: RenderContext) {
    if (ctx) this.ctx = ctx;
    this.needFull = true;
  }

  get pending(): boolean {
    return this.needFull || this.dirty.size > 0;
  }

  async sync(): Promise<SyncResult> {
    if (this.needFull) return this.fullSync();
    return this.partialSync();
  }

  private async fullSync(): Promise<SyncResult> {
    // Cleared first: events arriving while we work mark their keys again and get a partial sync.
    this.needFull = false;
    this.dirty.clear();
    try {
      let t = performance.now();
      const lap = () => {
        const now = performance.now();
        const d = now - t;
        t = now;
        return d;
      };
      // Chains left by an earlier run (or a Service deleted while we were down).
      const { nat, filter } = await iptablesSaveAll(this.run);
      const saveMs = lap();
      const parts: RenderedService[] = [];
      for (const svc of this.source.services()) {
        if (this.quarantined.has(keyOf(svc))) continue;
        const r = renderService(svc, this.source.slices(keyOf(svc)), this.ctx);
        if (r) parts.push(r);
      }
      parts.sort(byKey);
      const wanted = new Set(NAT_STATIC_CHAINS);
      for (const p of parts) for (const c of p.chains.keys()) wanted.add(c);
      const stale = ourChains(nat).filter((c) => !wanted.has(c));
      const text = renderFull(parts, this.ctx, stale);
      const renderMs = lap();
      await iptablesRestore(this.run, text);
      const restoreMs = lap();
      // The restore touched only our chains: the built-in ones read before are still current.
      await ensureJumps(this.run, { nat, filter });
      const jumpsMs = lap();
      this.applied = new Map(parts.map((p) => [p.key, p]));
      this.appliedDispatch = natDispatch(parts).join("\n");
      this.appliedFilter = filterRules(parts, this.ctx).join("\n");
      this.suspect = undefined;
      return { kind: "full", services: parts.length, bytes: text.length, staleChains: stale.length, steps: { saveMs, renderMs, restoreMs, jumpsMs } };
    } catch (e) {
      this.needFull = true;
      this.quarantine(e);
      throw e;
    }
  }

  private async partialSync(): Promise<SyncResult> {
    if (this.dirty.size === 0) return { kind: "none", services: 0, bytes: 0 };
    const keys = [...this.dirty];
    this.dirty.clear();
    try {
      const next = new Map(this.applied);
      const chains: string[] = [];
      const rules: string[] = [];
      const deletes: string[] = [];
      const flows: string[][] = [];
      for (const key of keys) {
        const svc = this.source.service(key);
        const r = svc && !this.quarantined.has(key) ? renderService(svc, this.source.slices(key), this.ctx) : undefined;
        const old = this.applied.get(key);
        if (r) {
          for (const [chain, lines] of r.chains) {
            const before = old?.chains.get(chain);
            if (before && sameLines(before, lines)) continue;
            chains.push(chain);
            rules.push(...lines);
          }
          next.set(key, r);
        } else next.delete(key);
        for (const chain of old?.chains.keys() ?? []) if (!r?.chains.has(chain)) deletes.push(chain);
        flows.push(...staleUdpFlows(old, r));
      }
      const parts = [...next.values()].sort(byKey);
      const dispatch = natDispatch(parts);
      const dispatchText = dispatch.join("\n");
      const filter = filterRules(parts, this.ctx);
      const filterText = filter.join("\n");
      const dispatchChanged = dispatchText !== this.appliedDispatch;
      const filterChanged = filterText !== this.appliedFilter;
      if (!dispatchChanged && !filterChanged && chains.length === 0 && deletes.length === 0) {
        this.applied = next;
        await this.deleteFlows(flows);
        return { kind: "none", services: keys.length, bytes: 0 };
      }
      const nat = dispatchChanged || chains.length > 0 || deletes.length > 0
        ? { chains: [...(dispatchChanged ? [SERVICES, NODEPORTS] : []), ...chains], rules: [...(dispatchChanged ? dispatch : []), ...rules], deletes }
        : undefined;
      const text = restoreText({ nat, filter: filterChanged ? { chains: FILTER_CHAINS, rules: filter } : undefined });
      await iptablesRestore(this.run, text);
      this.applied = next;
      this.appliedDispatch = dispatchText;
      this.appliedFilter = filterText;
      // After the restore: a flow deleted before it would be re-created to the old endpoint.
      await this.deleteFlows(flows);
      this.suspect = undefined;
      return { kind: "partial", services: keys.length, bytes: text.length, udpFlowDeletes: flows.length };
    } catch (e) {
      // The kernel may hold either table's old or new state (each commits alone): only a full
      // sync knows again what is there.
      this.needFull = true;
      this.quarantine(e);
      throw e;
    }
  }

  /** Best effort: exit 1 means no flow matched; a missing tool is said once. */
  private async deleteFlows(flows: string[][]) {
    if (this.conntrackMissing) return;
    for (const argv of flows) {
      const r = await this.run(argv);
      if (r.code === 127) {
        this.conntrackMissing = true;
        this.warn("the conntrack tool is missing: UDP clients may keep reaching a removed endpoint until their flow expires (install conntrack)");
        return;
      }
      if (r.code > 1) this.warn("deleting stale UDP flows failed", { command: argv.join(" "), error: r.stderr.trim() });
    }
  }
}

const byKey = (a: RenderedService, b: RenderedService) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

function sameLines(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
