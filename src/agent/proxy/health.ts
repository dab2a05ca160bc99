// Health check NodePorts, as kube-proxy serves them: for each LoadBalancer Service with
// externalTrafficPolicy Local (which the API server gives a spec.healthCheckNodePort), an HTTP
// server on that port of every node address. It answers 200 while this node has a ready endpoint
// of the Service, 503 otherwise, so an outside load balancer sends traffic only to nodes that
// keep it (Local traffic is dropped on the others). The body names the Service and counts the
// local endpoints; the answer is worked out at each request from the proxy's caches.
import type { Service } from "../../api/resources/core/service";
import type { EndpointSlice } from "../../api/resources/discovery/endpointslice";
import type { Logger } from "../../machinery/log";

export interface HealthAnswer {
  status: number;
  body: { service: { namespace: string; name: string }; localEndpoints: number; serviceProxyHealthy: boolean };
}

/** The Service's ready endpoints on `nodeName`, counted once per address across its slices. */
export function localReadyEndpoints(slices: EndpointSlice[], nodeName: string): number {
  const seen = new Set<string>();
  for (const s of slices)
    for (const ep of s.endpoints ?? []) if (ep.nodeName === nodeName && ep.conditions?.ready !== false && ep.addresses[0]) seen.add(ep.addresses[0]);
  return seen.size;
}

export function healthAnswer(svc: { namespace: string; name: string }, slices: EndpointSlice[], nodeName: string, proxyHealthy: boolean): HealthAnswer {
  const localEndpoints = localReadyEndpoints(slices, nodeName);
  return { status: localEndpoints > 0 && proxyHealthy ? 200 : 503, body: { service: svc, localEndpoints, serviceProxyHealthy: proxyHealthy } };
}

/** The port a Service's health check is served on, or undefined when it has none. */
export function healthCheckPort(svc: Service): number | undefined {
  const spec = svc.spec;
  if (spec?.type !== "LoadBalancer" || spec.externalTrafficPolicy !== "Local") return undefined;
  return spec.healthCheckNodePort || undefined;
}

export interface HealthSource {
  services(): Service[];
  service(key: string): Service | undefined;
  slices(key: string): EndpointSlice[];
  nodeName: string;
  proxyHealthy(): boolean;
}

/** One HTTP server per health check port in use; `sync()` after any Service change. */
export class HealthCheckServers {
  private readonly servers = new Map<number, { key: string; server: ReturnType<typeof Bun.serve> }>();
  /** Ports that could not be bound, so the failure is logged once per port and key. */
  private readonly failed = new Map<number, string>();

  constructor(
    private readonly src: HealthSource,
    private readonly log: Logger,
    private readonly hostname = "0.0.0.0",
  ) {}

  /** Starts the servers for Services that gained a port, stops those whose Service lost it. */
  sync() {
    const wanted = new Map<number, string>();
    for (const svc of this.src.services()) {
      const port = healthCheckPort(svc);
      if (port) wanted.set(port, `${svc.metadata.namespace ?? "default"}/${svc.metadata.name}`);
    }
    for (const [port, s] of this.servers) {
      if (wanted.get(port) === s.key) continue;
      s.server.stop(true);
      this.servers.delete(port);
    }
    for (const port of this.failed.keys()) if (!wanted.has(port)) this.failed.delete(port);
    for (const [port, key] of wanted) {
      if (this.servers.has(port)) continue;
      try {
        const server = Bun.serve({ hostname: this.hostname, port, fetch: () => this.answer(key) });
        this.servers.set(port, { key, server });
        this.failed.delete(port);
      } catch (e) {
        if (this.failed.get(port) !== key) this.log.warn("cannot serve a Service's health check NodePort; retrying at the next change or full sync", { service: key, port, error: String(e) });
        this.failed.set(port, key);
      }
    }
  }

  /** The ports served now (for tests). */
  ports(): number[] {
    return [...this.servers.keys()].sort((a, b) => a - b);
  }

  private answer(key: string): Response {
    const [namespace, name] = key.split("/") as [string, string];
    const svc = this.src.service(key);
    const slices = svc && healthCheckPort(svc) ? this.src.slices(key) : [];
    const a = healthAnswer({ namespace, name }, slices, this.src.nodeName, this.src.proxyHealthy());
    return new Response(JSON.stringify(a.body), {
      status: a.status,
      headers: { "Content-Type": "application/json", "X-Content-Type-Options": "nosniff", "X-Load-Balancing-Endpoint-Weight": String(a.body.localEndpoints) },
    });
  }

  stop() {
    for (const s of this.servers.values()) s.server.stop(true);
    this.servers.clear();
  }
}
