// Running probe and lifecycle actions: exec in the container, HTTP GET and TCP connect to the
// pod IP (reachable from the node over the pod network), sleep.
import type { Container } from "../../api/resources/core/podspec.schema";
import type { ContainerRuntime } from "../runtime/runtime";

export interface Action {
  exec?: { command?: string[] };
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: string; httpHeaders?: Array<{ name: string; value: string }> };
  tcpSocket?: { port: number | string; host?: string };
  sleep?: { seconds: number };
}

export interface ActionTarget {
  runtime: ContainerRuntime;
  containerId: string;
  container: Container;
  podIP?: string;
}

export interface ActionResult {
  ok: boolean;
  message?: string;
}

/** A named port resolves through the container's ports, as upstream does. */
export function resolvePort(port: number | string, container: Container): number | undefined {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

export async function runAction(a: Action, t: ActionTarget, timeoutMs: number): Promise<ActionResult> {
  try {
    if (a.exec) {
      const r = await t.runtime.exec(t.containerId, a.exec.command ?? [], { timeoutMs });
      if (r.exitCode === -1) return { ok: false, message: `command timed out after ${timeoutMs / 1000}s` };
      return r.exitCode === 0 ? { ok: true } : { ok: false, message: `command exited with ${r.exitCode}: ${(r.stdout + r.stderr).slice(0, 200)}` };
    }
    if (a.httpGet) {
      const port = resolvePort(a.httpGet.port, t.container);
      const host = a.httpGet.host || t.podIP;
      if (!port || !host) return { ok: false, message: `no address for port ${a.httpGet.port}` };
      const scheme = (a.httpGet.scheme ?? "HTTP").toLowerCase();
      const path = a.httpGet.path ?? "/";
      const url = `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}${path.startsWith("/") ? path : `/${path}`}`;
      const headers: Record<string, string> = { "user-agent": "kube-probe/1.32" };
      for (const h of a.httpGet.httpHeaders ?? []) headers[h.name] = h.value;
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: "manual", tls: { rejectUnauthorized: false } });
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 400 ? { ok: true } : { ok: false, message: `HTTP probe failed with statuscode: ${res.status}` };
    }
    if (a.tcpSocket) {
      const port = resolvePort(a.tcpSocket.port, t.container);
      const host = a.tcpSocket.host || t.podIP;
      if (!port || !host) return { ok: false, message: `no address for port ${a.tcpSocket.port}` };
      return await tcpConnect(host, port, timeoutMs);
    }
    if (a.sleep) {
      await Bun.sleep(Math.min(a.sleep.seconds * 1000, timeoutMs));
      return { ok: true };
    }
    return { ok: false, message: "no action" };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

function tcpConnect(hostname: string, port: number, timeoutMs: number): Promise<ActionResult> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, message: `dial tcp ${hostname}:${port}: i/o timeout` }), timeoutMs);
    Bun.connect({
      hostname,
      port,
      socket: {
        open(s) {
          clearTimeout(timer);
          s.end();
          resolve({ ok: true });
        },
        connectError(_, e) {
          clearTimeout(timer);
          resolve({ ok: false, message: `dial tcp ${hostname}:${port}: ${e.message}` });
        },
        data() {},
      },
    }).catch((e) => {
      clearTimeout(timer);
      resolve({ ok: false, message: String(e) });
    });
  });
}
