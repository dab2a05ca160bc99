// The contract between the API server and the agents' HTTPS endpoint (what upstream calls the
// kubelet API): paths, how the API server proves who it is, how it recognises the agent, and
// the WebSocket subprotocols exec speaks. Both sides import it; neither imports the other.

/** The agent's default port, upstream's kubelet port. */
export const DEFAULT_KUBELET_PORT = 10250;

/**
 * The agent's self-signed serving certificate (PEM), published on its Node. The API server
 * trusts exactly this certificate for that node (a pin): only the node itself and admins may
 * write its Node, so no other node can redirect or intercept another's logs and exec.
 */
export const SERVING_CERT_ANNOTATION = "bramble.io/kubelet-serving-cert";

/**
 * The API server authenticates to agents with a short-lived ES256 JWT signed by the cluster
 * CA's key, which every agent already trusts (it pinned the CA when it joined). Nothing is
 * distributed or stored per node, and the audience binds a token to one node.
 */
export const KUBELET_TOKEN_ISSUER = "bramble-apiserver";
export const kubeletTokenAudience = (node: string) => `kubelet:${node}`;
/** Long enough for clock skew between nodes; a token only opens one request. */
export const KUBELET_TOKEN_TTL_SECONDS = 120;

export const containerLogsPath = (namespace: string, pod: string, container: string) =>
  `/containerLogs/${encodeURIComponent(namespace)}/${encodeURIComponent(pod)}/${encodeURIComponent(container)}`;
export const execPath = (namespace: string, pod: string, container: string) =>
  `/exec/${encodeURIComponent(namespace)}/${encodeURIComponent(pod)}/${encodeURIComponent(container)}`;

export const attachPath = (namespace: string, pod: string, container: string) =>
  `/attach/${encodeURIComponent(namespace)}/${encodeURIComponent(pod)}/${encodeURIComponent(container)}`;

export const portForwardPath = (namespace: string, pod: string) => `/portForward/${encodeURIComponent(namespace)}/${encodeURIComponent(pod)}`;

/**
 * Port-forward's only WebSocket subprotocol: SPDY/3.1 tunnelled in binary messages, what kubectl
 * 1.31+ offers first (client-go's tunneling dialer). The API server passes it through to the
 * agent unchanged, which speaks SPDY itself.
 */
export const PORT_FORWARD_SUBPROTOCOL = "SPDY/3.1+portforward.k8s.io";

/**
 * The channel protocol's port-forward (what the Python client speaks): the ports are named in the
 * URL and each gets a data and an error channel.
 */
export const PORT_FORWARD_CHANNEL_SUBPROTOCOL = "v4.channel.k8s.io";

/**
 * The `ports` query of a channel-protocol port-forward (repeated, or comma-separated), checked as
 * upstream's kubelet checks it. Throws the message for a 400.
 */
export function parsePortForwardPorts(q: URLSearchParams): number[] {
  const values = q.getAll("ports");
  if (!values.length) throw new Error('query parameter "ports" is required');
  const ports: number[] = [];
  for (const v of values) {
    if (!v) throw new Error('query parameter "ports" cannot be empty');
    for (const p of v.split(",")) {
      if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) throw new Error(`unable to parse "${v}" as a port`);
      if (Number(p) < 1) throw new Error(`port "${v}" must be > 0`);
      ports.push(Number(p));
    }
  }
  return ports;
}

/**
 * The pod's UID rides along as a query parameter so the agent never serves the containers of an
 * older pod that had the same name.
 */
export const POD_UID_PARAM = "podUID";

/**
 * Exec's WebSocket subprotocols, best first. v5 adds the close signal (channel 255) that lets
 * `kubectl exec -i` end the remote stdin; v4 carries the exit status as a Status JSON. kubectl
 * 1.30+ and client-node offer v5, the Python client only v4. The older ones (plain-text errors)
 * and the base64 variants browsers use are not spoken.
 */
export const EXEC_SUBPROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;
export type ExecSubprotocol = (typeof EXEC_SUBPROTOCOLS)[number];

/** The first subprotocol in the client's offer (`Sec-WebSocket-Protocol`) that we speak. */
export function negotiateSubprotocol(offered: string | null | undefined): ExecSubprotocol | undefined {
  const list = (offered ?? "").split(",").map((p) => p.trim());
  return list.find((p): p is ExecSubprotocol => (EXEC_SUBPROTOCOLS as readonly string[]).includes(p));
}

/**
 * The resource-usage subset of upstream's kubelet Summary API (GET /stats/summary, the shape of
 * k8s.io/kubelet/pkg/apis/stats/v1alpha1): CPU as a rate in nanocores with the cumulative
 * counter beside it, memory as usage and working set. The API server's metrics.k8s.io reads it.
 */
export const STATS_SUMMARY_PATH = "/stats/summary";

export interface CpuStats {
  /** When the later of the two readings behind the rate was taken (RFC 3339). */
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds?: number;
}

export interface MemoryStats {
  time: string;
  availableBytes?: number;
  usageBytes?: number;
  workingSetBytes?: number;
}

export interface ContainerStats {
  name: string;
  startTime: string;
  cpu?: CpuStats;
  memory?: MemoryStats;
}

export interface PodStats {
  podRef: { name: string; namespace: string; uid: string };
  startTime: string;
  containers: ContainerStats[];
  cpu?: CpuStats;
  memory?: MemoryStats;
}

export interface StatsSummary {
  node: { nodeName: string; startTime?: string; cpu?: CpuStats; memory?: MemoryStats };
  pods: PodStats[];
}

/**
 * How long the agent's CPU rates are averaged over (its sampling interval): the `window` of
 * metrics.k8s.io, as upstream's metrics-server reports its scrape interval.
 */
export const STATS_INTERVAL_SECONDS = 15;
