// The agents' /stats/summary, fetched through the same pinned, token-authenticated path as logs
// and exec, and kept for a few seconds: `kubectl top` run twice, or pods of one node listed
// namespace by namespace, ask the agent once. The agent's own readings change every 15 s anyway.
import { STATS_SUMMARY_PATH, type StatsSummary } from "../../../api/kubelet-api";
import type { Node } from "../../../api/resources/core/node";
import { agentEndpoint, unavailable, type KubeletTokenSigner } from "../proxy/index";

export type SummaryFetcher = (node: Node) => Promise<StatsSummary>;

const CACHE_MS = 5_000;
/** The agent's first answer takes one short sampling window (about a second). */
const FETCH_TIMEOUT_MS = 5_000;

export function agentSummaryFetcher(sign: KubeletTokenSigner): SummaryFetcher {
  return async (node) => {
    const name = node.metadata.name!;
    const { base, pinnedCertPem } = agentEndpoint(node, "its metrics");
    let res: Response;
    try {
      res = await fetch(new URL(STATS_SUMMARY_PATH, base), { headers: { authorization: `Bearer ${await sign(name)}` }, tls: { ca: pinnedCertPem }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    } catch (e) {
      throw unavailable(`the agent on node "${name}" (${base}) is unreachable: ${(e as Error).message}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw unavailable(`the agent on node "${name}" answered ${res.status} for its metrics`);
    }
    return (await res.json()) as StatsSummary;
  };
}

/** Summaries by node name, each reused for CACHE_MS; concurrent requests share one fetch. */
export class SummaryCache {
  private entries = new Map<string, { at: number; summary: Promise<StatsSummary> }>();

  constructor(
    private fetchSummary: SummaryFetcher,
    private now: () => number = Date.now,
  ) {}

  get(node: Node): Promise<StatsSummary> {
    const name = node.metadata.name!;
    const hit = this.entries.get(name);
    if (hit && this.now() - hit.at < CACHE_MS) return hit.summary;
    const summary = this.fetchSummary(node);
    const entry = { at: this.now(), summary };
    this.entries.set(name, entry);
    // A failure is not kept: the next request asks again.
    summary.catch(() => this.entries.get(name) === entry && this.entries.delete(name));
    return summary;
  }

  /** Forgets nodes that no longer exist. */
  retain(names: Set<string>): void {
    for (const n of this.entries.keys()) if (!names.has(n)) this.entries.delete(n);
  }
}
