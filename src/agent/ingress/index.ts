// The ingress controller every node runs (k3s ships Traefik for this; bramble builds it in):
// HTTP on the node's port 80 and HTTPS on 443 for the Ingresses whose IngressClass names the
// controller bramble.io/ingress. It watches Ingresses, IngressClasses and Services, reads
// endpoints from the agent's shared EndpointSlice watch, and follows each TLS Secret those
// Ingresses name with a watch pinned to that Secret (all a node may read of Secrets; see the
// server's node authorizer). A changed certificate restarts the HTTPS listener on the same
// port, new connections first; one that does not parse is skipped and reported as a Warning
// event on its Ingress.
import { KINDS } from "../../api/kinds";
import type { Secret } from "../../api/resources/core/secret";
import type { Service } from "../../api/resources/core/service";
import type { Ingress } from "../../api/resources/networking/ingress";
import type { IngressClass } from "../../api/resources/networking/ingressclass";
import { servedByBramble } from "../../api/resources/networking/names";
import type { KubeClient } from "../../client/client";
import { EventRecorder } from "../../client/events";
import { Informer, objectKeyOf } from "../../client/informer";
import type { Logger } from "../../machinery/log";
import type { ServiceSlices } from "../service-slices";
import { createProxy, relayHandlers } from "./proxy";
import { buildRoutes, type Backend, type RouteTable } from "./routes";
import { tlsEntries, type TlsEntry, type TlsProblem } from "./tls";

export const DEFAULT_INGRESS_PORTS = { http: 80, https: 443 };

export interface IngressOptions {
  client: KubeClient;
  slices: ServiceSlices;
  nodeName: string;
  log: Logger;
  /** Default 80 and 443; 0 picks a free port. */
  httpPort?: number;
  httpsPort?: number;
  /** Default all interfaces. */
  hostname?: string;
}

export interface RunningIngress {
  httpPort: number;
  /** undefined while no certificate is served. */
  httpsPort(): number | undefined;
  stop(): Promise<void>;
}

/** What the controller keeps of a Service: the ports a backend may name. */
const slimService = (s: Service): Service =>
  ({ metadata: { name: s.metadata.name, namespace: s.metadata.namespace, resourceVersion: s.metadata.resourceVersion }, spec: { type: s.spec?.type, ports: (s.spec?.ports ?? []).map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })) } }) as Service;

export async function startIngressController(o: IngressOptions): Promise<RunningIngress> {
  const events = new EventRecorder(o.client, "ingress-controller", o.nodeName);
  const ingresses = new Informer<Ingress>(o.client.resource<Ingress>(KINDS.ingresses));
  const classes = new Informer<IngressClass>(o.client.resource<IngressClass>(KINDS.ingressClasses));
  const services = new Informer<Service>(o.client.resource<Service>(KINDS.services), { transform: slimService });
  const secretWatches = new Map<string, Informer<Secret>>();

  let routes: RouteTable = buildRoutes([]);
  let served: Ingress[] = [];
  let tls: TlsEntry[] = [];
  let reported = "";

  const endpoints = (b: Backend): string[] => {
    const svc = services.get(`${b.namespace}/${b.service}`);
    const sp = svc?.spec?.ports?.find((p) => (typeof b.port === "number" ? p.port === b.port : p.name === b.port));
    if (!sp) return [];
    const portName = sp.name ?? "";
    const out: string[] = [];
    for (const slice of o.slices.of(`${b.namespace}/${b.service}`) ?? []) {
      const port = slice.ports?.find((p) => (p.name ?? "") === portName && (p.protocol ?? "TCP") === "TCP")?.port;
      if (!port) continue;
      for (const ep of slice.endpoints ?? []) {
        if (ep.conditions?.ready === false) continue;
        const addr = ep.addresses[0];
        if (addr) out.push(addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`);
      }
    }
    return out;
  };

  const idle = 120; // seconds a connection may stay silent (streams count as activity)
  const httpProxy = createProxy({ routes: () => routes, endpoints, scheme: "http", port: 0 });
  const http = Bun.serve({ port: o.httpPort ?? DEFAULT_INGRESS_PORTS.http, hostname: o.hostname ?? "0.0.0.0", idleTimeout: idle, fetch: httpProxy, websocket: relayHandlers });
  const httpPort = http.port!;
  let https: ReturnType<typeof Bun.serve> | undefined;
  let httpsPort = o.httpsPort ?? DEFAULT_INGRESS_PORTS.https;
  const httpsProxy = () => createProxy({ routes: () => routes, endpoints, scheme: "https", port: httpsPort });

  /** A new HTTPS listener for the current certificates (reusePort: it takes over before the old one stops). */
  function restartHttps() {
    const old = https;
    if (!tls.length) {
      https = undefined;
      old?.stop();
      return;
    }
    const [first] = tls;
    const config = [{ cert: first!.cert, key: first!.key }, ...tls.map((e) => ({ cert: e.cert, key: e.key, serverName: e.serverName }))];
    try {
      https = Bun.serve({ port: httpsPort, hostname: o.hostname ?? "0.0.0.0", reusePort: true, idleTimeout: idle, tls: config, fetch: httpsProxy(), websocket: relayHandlers });
      httpsPort = https.port!;
      old?.stop();
      o.log.info("serving HTTPS", { port: httpsPort, hosts: tls.map((e) => e.serverName) });
    } catch (e) {
      https = old;
      o.log.error("cannot serve HTTPS with the current certificates", { err: e });
    }
  }

  function report(problems: TlsProblem[]) {
    const text = JSON.stringify(problems.map((p) => [objectKeyOf(p.ingress), p.secret, p.message]));
    if (text === reported) return;
    reported = text;
    for (const p of problems) {
      o.log.warn("skipping a TLS certificate", { ingress: objectKeyOf(p.ingress), secret: p.secret, reason: p.message });
      events.event({ ...p.ingress, apiVersion: "networking.k8s.io/v1", kind: "Ingress" }, "Warning", "InvalidCertificate", `TLS secret ${p.secret} is skipped: ${p.message}`);
    }
  }

  function refreshTls() {
    const { entries, problems } = tlsEntries(served, (ns, name) => secretWatches.get(`${ns}/${name}`)?.get(`${ns}/${name}`));
    // A Secret this node cannot see yet (not created, or its watch not started) is no problem to report.
    report(problems.filter((p) => p.message !== "secret not found"));
    const sig = (xs: TlsEntry[]) => JSON.stringify(xs.map((e) => [e.serverName, e.cert, e.key]));
    if (sig(entries) === sig(tls)) return;
    tls = entries;
    restartHttps();
  }

  /** One watch per TLS Secret the served Ingresses name; watches of Secrets no longer named stop. */
  function followSecrets() {
    const wanted = new Set<string>();
    for (const ing of served) for (const t of ing.spec?.tls ?? []) if (t.secretName) wanted.add(`${ing.metadata.namespace}/${t.secretName}`);
    for (const [key, inf] of secretWatches)
      if (!wanted.has(key)) {
        inf.stop();
        secretWatches.delete(key);
      }
    for (const key of wanted) {
      if (secretWatches.has(key)) continue;
      const [namespace, name] = key.split("/");
      const inf = new Informer<Secret>(o.client.resource<Secret>(KINDS.secrets), { namespace, fieldSelector: `metadata.name=${name}` });
      inf.on({ add: refreshTls, update: refreshTls, delete: refreshTls });
      secretWatches.set(key, inf);
      void inf.start();
    }
  }

  let pending = false;
  function rebuild() {
    if (pending) return;
    pending = true;
    queueMicrotask(() => {
      pending = false;
      served = ingresses.list().filter((i) => servedByBramble(i.spec?.ingressClassName, (n) => classes.get(n)));
      routes = buildRoutes(served);
      followSecrets();
      refreshTls();
    });
  }
  ingresses.on({ add: rebuild, update: rebuild, delete: rebuild });
  classes.on({ add: rebuild, update: rebuild, delete: rebuild });

  // Not awaited: a server without the networking.k8s.io API (an older one) must not hold up the
  // node; until the first lists arrive every request is a 404.
  void Promise.all([classes.start(), ingresses.start(), services.start(), o.slices.start()]).then(() => o.log.info("ingress controller synced"));
  o.log.info("ingress controller listening", { http: httpPort, https: httpsPort });

  return {
    httpPort,
    httpsPort: () => (https ? httpsPort : undefined),
    async stop() {
      for (const i of [ingresses, classes, services, ...secretWatches.values()]) i.stop();
      http.stop(true);
      https?.stop(true);
    },
  };
}
