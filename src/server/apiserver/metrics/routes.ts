// metrics.k8s.io/v1beta1, served by the API server itself: NodeMetrics and PodMetrics (get and
// list, label and field selectors, one namespace or all) computed from the agents' summaries on
// request. What `kubectl top nodes` and `kubectl top pods` read. Nodes or pods whose agent does
// not answer, that have no rate yet, or pods not Running, are left out of lists, and are a
// NotFound of the metrics object by name, as metrics-server answers.
import { methodNotAllowed, notFound, pathNotFound } from "../../../api/errors";
import { VIRTUAL_KINDS, type KindIdentity } from "../../../api/kinds";
import type { KubeObject } from "../../../api/meta";
import type { Node } from "../../../api/resources/core/node";
import type { StatsSummary } from "../../../api/kubelet-api";
import { log } from "../../../machinery/log";
import type { ApiContext } from "../handlers/context";
import { json } from "../handlers/respond";
import { boolParam, objectFilter } from "../query";
import { wantsTable } from "../tables";
import { metricsList, metricsTable, nodeMetrics, podMetrics, type NodeMetrics, type PodMetrics } from "./objects";
import type { SummaryCache } from "./summaries";

export const METRICS_PREFIX = "/apis/metrics.k8s.io/v1beta1/";

export interface MetricsRequest {
  kind: KindIdentity;
  namespace?: string;
  name?: string;
}

/** The path's target, or a 404 for any other path under the group-version. */
export function parseMetricsPath(pathname: string): MetricsRequest {
  const parts = pathname.slice(METRICS_PREFIX.length).split("/").filter(Boolean).map(decodeURIComponent);
  const [a, b, c, d] = parts;
  if (a === "nodes" && parts.length <= 2) return { kind: VIRTUAL_KINDS.nodeMetrics, name: b };
  if (a === "pods" && parts.length === 1) return { kind: VIRTUAL_KINDS.podMetrics };
  if (a === "namespaces" && b && c === "pods" && parts.length <= 4) return { kind: VIRTUAL_KINDS.podMetrics, namespace: b, name: d };
  throw pathNotFound(pathname);
}

const NODE_METRICS_TARGET = { group: "metrics.k8s.io", plural: "nodemetrics", kind: "NodeMetrics" };
const POD_METRICS_TARGET = { group: "metrics.k8s.io", plural: "podmetrics", kind: "PodMetrics" };
// metrics-server passes its informers' own NotFound on for an object that does not exist at all.
const NODE_TARGET = { group: "", plural: "node", kind: "Node" };
const POD_TARGET = { group: "", plural: "pod", kind: "Pod" };

export class MetricsApi {
  constructor(
    private ctx: ApiContext,
    private summaries: SummaryCache,
  ) {}

  async serve(req: Request, url: URL, r: MetricsRequest): Promise<Response> {
    if (req.method !== "GET" || boolParam(url, "watch")) throw methodNotAllowed(`the server does not allow this method on the requested resource (${req.method} ${url.pathname})`);
    const table = wantsTable(req);
    if (r.kind === VIRTUAL_KINDS.nodeMetrics) {
      if (r.name) {
        const m = await this.node(r.name);
        return json(table ? metricsTable([m]) : m);
      }
      const items = await this.nodes(url);
      return json(table ? metricsTable(items) : metricsList("NodeMetricsList", items));
    }
    if (r.name) {
      const m = await this.pod(r.namespace!, r.name);
      return json(table ? metricsTable([m]) : m);
    }
    const items = await this.pods(url, r.namespace);
    return json(table ? metricsTable(items) : metricsList("PodMetricsList", items));
  }

  /**
   * Nodes whose agent may answer: those that advertise an agent endpoint (simulated nodes do
   * not) and have not stopped reporting (Ready Unknown: asking would only time out).
   */
  private allNodes(): Node[] {
    const nodes = this.ctx.objects.list(this.ctx.resource("", "nodes")).items as Node[];
    this.summaries.retain(new Set(nodes.map((n) => n.metadata.name!)));
    return nodes.filter((n) => n.status?.daemonEndpoints?.kubeletEndpoint?.Port && n.status.conditions?.find((c) => c.type === "Ready")?.status !== "Unknown");
  }

  /** Each node's summary, or undefined (logged) when its agent does not answer. */
  private async summariesOf(nodes: Node[]): Promise<Map<string, StatsSummary>> {
    const out = new Map<string, StatsSummary>();
    await Promise.all(
      nodes.map(async (n) => {
        try {
          out.set(n.metadata.name!, await this.summaries.get(n));
        } catch (e) {
          log.warn("no metrics from node", { node: n.metadata.name, err: (e as Error).message });
        }
      }),
    );
    return out;
  }

  private async nodes(url: URL): Promise<NodeMetrics[]> {
    const filter = objectFilter(this.ctx.resource("", "nodes"), url);
    const nodes = this.allNodes().filter((n) => !filter || filter(n));
    const summaries = await this.summariesOf(nodes);
    return nodes.flatMap((n) => {
      const s = summaries.get(n.metadata.name!);
      const m = s && nodeMetrics(n, s);
      return m ? [m] : [];
    });
  }

  private async node(name: string): Promise<NodeMetrics> {
    const node = this.ctx.objects.tryGet(this.ctx.resource("", "nodes"), undefined, name) as Node | undefined;
    if (!node) throw notFound(NODE_TARGET, name);
    const reachable = this.allNodes().some((n) => n.metadata.name === name);
    const summary = reachable ? (await this.summariesOf([node])).get(name) : undefined;
    const m = summary && nodeMetrics(node, summary);
    if (!m) throw notFound(NODE_METRICS_TARGET, name);
    return m;
  }

  private async metricsOf(pods: KubeObject[]): Promise<PodMetrics[]> {
    const nodeNames = new Set(pods.map((p) => (p.spec as { nodeName?: string } | undefined)?.nodeName).filter((n): n is string => !!n));
    const summaries = await this.summariesOf(this.allNodes().filter((n) => nodeNames.has(n.metadata.name!)));
    const byUid = new Map<string, StatsSummary["pods"][number]>();
    for (const s of summaries.values()) for (const p of s.pods) byUid.set(p.podRef.uid, p);
    return pods.flatMap((p) => {
      // As metrics-server: only running pods (a finished pod's last figures are not usage).
      if ((p.status as { phase?: string } | undefined)?.phase !== "Running") return [];
      const stats = byUid.get(p.metadata.uid!);
      const m = stats && podMetrics(p, stats);
      return m ? [m] : [];
    });
  }

  private async pods(url: URL, namespace?: string): Promise<PodMetrics[]> {
    const def = this.ctx.resource("", "pods");
    const filter = objectFilter(def, url);
    const pods = this.ctx.objects.list(def, namespace).items.filter((p) => !filter || filter(p));
    return this.metricsOf(pods);
  }

  private async pod(namespace: string, name: string): Promise<PodMetrics> {
    const pod = this.ctx.objects.tryGet(this.ctx.resource("", "pods"), namespace, name);
    if (!pod) throw notFound(POD_TARGET, name);
    const [m] = await this.metricsOf([pod]);
    if (!m) throw notFound(POD_METRICS_TARGET, `${namespace}/${name}`);
    return m;
  }
}
