// The agent's HTTPS endpoint (upstream's kubelet API, port 10250): container logs, exec and attach,
// the node's /var/log at /logs/ (reached through nodes/proxy) and resource usage at
// /stats/summary (for metrics.k8s.io) and Prometheus metrics at /metrics, for the API server only. It
// proxies `kubectl logs`, `exec` and `attach` here; nothing else may call it (see auth.ts). Routes
// are few and fixed, so they are matched by hand.
import type { Server, ServerWebSocket } from "bun";
import { ApiError, pathNotFound, unauthorized } from "../../api/errors";
import { DEFAULT_KUBELET_PORT, POD_UID_PARAM, STATS_SUMMARY_PATH } from "../../api/kubelet-api";
import type { Logger } from "../../machinery/log";
import type { ContainerRuntime } from "../runtime/runtime";
import { apiServerAuthenticator, type RequestAuthenticator } from "./auth";
import { execContainer, type ContainerRef } from "./containers";
import { ExecBridge, parseExecQuery, streamSubprotocol } from "./exec";
import { attachBridge, parseAttachQuery } from "./attach";
import { containerLogs, parseLogQuery } from "./logs";
import { NODE_LOG_DIR, nodeLogs } from "./node-logs";
import { StatsCollector } from "../metrics/collector";
import { metricsResponse } from "../../machinery/prometheus";

export interface AgentServerOptions {
  nodeName: string;
  runtime: ContainerRuntime;
  /** The cluster CA: the API server's tokens are signed with its key. */
  caCertPem: string;
  certPem: string;
  keyPem: string;
  /** 0 picks a free port (tests); default 10250. */
  port?: number;
  /** Default all interfaces, like upstream's kubelet --address. */
  hostname?: string;
  log: Logger;
  /** The folder served at /logs/ (upstream's kubelet serves /var/log there); tests use their own. */
  nodeLogDir?: string;
  /** Tests swap in their own check. */
  authenticate?: RequestAuthenticator;
  /** Serves /stats/summary; default: one reading this node's cgroups, started on the first request. */
  stats?: Pick<StatsCollector, "summary" | "stop">;
  /** How often the default collector reads usage (--housekeeping-interval); default 15 s. */
  statsIntervalMs?: number;
}

export interface AgentServer {
  port: number;
  stop(): Promise<void>;
}

/** What an upgraded connection carries: an exec or a port-forward session. */
interface Session {
  open(ws: ServerWebSocket<unknown>): void;
  message(data: string | Uint8Array): void;
  drain(): void;
  close(): void;
}

const status = (e: ApiError) => Response.json(e.toStatus(), { status: e.code });

export function startAgentServer(o: AgentServerOptions): AgentServer {
  const authenticate = o.authenticate ?? apiServerAuthenticator(o.caCertPem, o.nodeName);
  const sessions = new Set<Session>();
  const stats = o.stats ?? new StatsCollector({ nodeName: o.nodeName, runtime: o.runtime, log: o.log, intervalMs: o.statsIntervalMs });

  const route = async (req: Request, server: Server<Session>): Promise<Response | undefined> => {
    const url = new URL(req.url);
    if (url.pathname === "/healthz") return new Response("ok");
    if (!(await authenticate(req))) return status(unauthorized());
    if ((url.pathname === "/logs" || url.pathname.startsWith("/logs/")) && (req.method === "GET" || req.method === "HEAD")) return nodeLogs(o.nodeLogDir ?? NODE_LOG_DIR, url.pathname.slice("/logs".length));
    if (url.pathname === STATS_SUMMARY_PATH && req.method === "GET") return Response.json(await stats.summary());
    if (url.pathname === "/metrics" && (req.method === "GET" || req.method === "HEAD")) return metricsResponse();
    const [, kind, ...rest] = url.pathname.split("/");
    if (kind === "portForward" && rest.length === 2 && rest.every(Boolean) && (req.method === "GET" || req.method === "POST")) {
      const [namespace, pod] = rest.map(decodeURIComponent) as [string, string];
      // Loaded on first use: an agent nobody port-forwards through does not carry it.
      const { acceptPortForward } = await import("./portforward/index");
      const { protocol, session } = acceptPortForward(req, url, o.runtime, o.nodeName, { namespace, pod, podUid: url.searchParams.get(POD_UID_PARAM) || undefined }, o.log);
      if (server.upgrade(req, { headers: { "Sec-WebSocket-Protocol": protocol }, data: session })) return undefined;
      throw new ApiError(400, "BadRequest", "the WebSocket upgrade failed");
    }
    if (rest.length !== 3 || rest.some((s) => !s)) throw pathNotFound(url.pathname);
    const [namespace, pod, container] = rest.map(decodeURIComponent) as [string, string, string];
    const ref: ContainerRef = { namespace, pod, container, podUid: url.searchParams.get(POD_UID_PARAM) || undefined };

    if (kind === "containerLogs" && (req.method === "GET" || req.method === "HEAD")) {
      const query = parseLogQuery(url.searchParams);
      if (query.follow) server.timeout(req, 0); // a quiet container must not look like an idle connection
      return containerLogs(o.runtime, o.nodeName, ref, query);
    }
    if (kind === "exec" && (req.method === "GET" || req.method === "POST")) {
      const params = parseExecQuery(url.searchParams);
      const protocol = streamSubprotocol(req, "exec");
      const start = async () => {
        const c = await execContainer(o.runtime, o.nodeName, ref);
        return o.runtime.execStream(c.id, params.command, { tty: params.tty, stdin: params.stdin });
      };
      const bridge = new ExecBridge(start, params, protocol, o.log);
      if (server.upgrade(req, { headers: { "Sec-WebSocket-Protocol": protocol }, data: bridge })) return undefined;
      throw new ApiError(400, "BadRequest", "the WebSocket upgrade failed");
    }
    if (kind === "attach" && (req.method === "GET" || req.method === "POST")) {
      const flags = parseAttachQuery(url.searchParams);
      const protocol = streamSubprotocol(req, "attach");
      const bridge = attachBridge(o.runtime, o.nodeName, ref, flags, protocol, o.log);
      if (server.upgrade(req, { headers: { "Sec-WebSocket-Protocol": protocol }, data: bridge })) return undefined;
      throw new ApiError(400, "BadRequest", "the WebSocket upgrade failed");
    }
    throw pathNotFound(url.pathname);
  };

  const server = Bun.serve<Session>({
    hostname: o.hostname ?? "0.0.0.0",
    port: o.port ?? DEFAULT_KUBELET_PORT,
    tls: { cert: o.certPem, key: o.keyPem },
    async fetch(req, server) {
      try {
        return await route(req, server);
      } catch (e) {
        if (e instanceof ApiError) return status(e);
        o.log.error("agent endpoint request failed", { path: new URL(req.url).pathname, err: e });
        return status(new ApiError(500, "InternalError", (e as Error).message));
      }
    },
    websocket: {
      open(ws: ServerWebSocket<Session>) {
        sessions.add(ws.data);
        ws.data.open(ws as ServerWebSocket<unknown>);
      },
      message: (ws: ServerWebSocket<Session>, msg) => ws.data.message(msg),
      drain: (ws: ServerWebSocket<Session>) => ws.data.drain(),
      close(ws: ServerWebSocket<Session>) {
        sessions.delete(ws.data);
        ws.data.close();
      },
    },
  });

  return {
    port: server.port!,
    async stop() {
      stats.stop();
      for (const s of sessions) s.close();
      await server.stop(true);
    },
  };
}
