// The Kubernetes API server: a Hono app over the watch cache and the store.
import { Hono } from "hono";
import type { Server, WebSocketHandler } from "bun";
import { ApiError, badRequest, internal, methodNotAllowed, pathNotFound, unauthorized } from "../../api/errors";
import { apiVersionOf, type KindIdentity } from "../../api/kinds";
import type { ResourceDef } from "../../api/resource";
import type { LimitRange } from "../../api/resources/core/limitrange";
import type { ResourceQuota } from "../../api/resources/core/resourcequota";
import { resources as allResources, servedResources } from "../../api/registry";
import { log } from "../../machinery/log";
import type { ServerConfig } from "../config";
import { StorageFullError, type Store } from "../store/store";
import { ensureServiceAccountKey, tokenSigner, type ServiceAccountTokenSigner } from "../auth/serviceaccount/index";
import { LimitRanger } from "./admission/limitranger";
import { NodeCidrAllocator } from "./admission/nodecidrs";
import { QuotaAdmission } from "./admission/resourcequota";
import { ServiceAllocator } from "./admission/services";
import { PriorityAdmission } from "./admission/priority";
import { StorageAdmission } from "./admission/storage";
import type { StorageClass } from "../../api/resources/storage/storageclass";
import { DefaultIngressClassAdmission } from "./admission/ingressclass";
import type { IngressClass } from "../../api/resources/networking/ingressclass";
import type { PriorityClass } from "../../api/resources/scheduling/priorityclass";
import type { AdmissionPlugin } from "./admission/admission";
import { recordEvent } from "./admission/events";
import { runAsUser } from "./request-user";
import { withWarnings } from "./request-warnings";
import { WebhookAdmission } from "./admission/webhooks";
import type { WebhookConfiguration } from "../../api/resources/admissionregistration/webhooks";
import type { EndpointSlice } from "../../api/resources/discovery/endpointslice";
import type { Service } from "../../api/resources/core/service";
import { LABEL_SERVICE_NAME } from "../../api/resources/discovery/labels";
import { parseBody } from "./body";
import { bootstrap, keepKubernetesService } from "./bootstrap";
import { followNodesForKubeDns } from "./kube-dns-service";
import { VIRTUAL_KINDS } from "../../api/kinds";
import { apiGroup, apiGroupList, apiVersions, readOnlyResourceList, resourceList, versionInfo } from "./discovery";
import { MetricsApi, METRICS_PREFIX, parseMetricsPath } from "./metrics/routes";
import { agentSummaryFetcher, SummaryCache, type SummaryFetcher } from "./metrics/summaries";
import type { ApiContext } from "./handlers/context";
import { getObject, listObjects } from "./handlers/read";
import { json, statusResponse } from "./handlers/respond";
import { storedDef } from "./handlers/versions";
import { evict } from "./handlers/eviction";
import { bind, podAttach, podExec, podLogs, podPortForward, scale } from "./handlers/subresources";
import { createToken } from "./handlers/token-request";
import { watchObjects } from "./handlers/watch";
import { createObject, deleteCollection, deleteObject, patchObject, updateObject } from "./handlers/write";
import { Deleter } from "./objects/delete";
import { Objects } from "./objects/objects";
import { serveOpenApi } from "./openapi-routes";
import { boolParam } from "./query";
import { caKeySigner, socketHandler, type KubeletTokenSigner } from "./proxy/index";
import { proxySubresource } from "./proxy/proxy-subresource";
import { parseResourcePath, type ResourceRequest } from "./request";
import { startEventExpiry } from "./eventttl";
import { HealthChecks, withTimeout } from "./health";
import { WatchCache } from "./watchcache";
import { CustomResources } from "./custom-resources";
import { recordRequest, requestLabels } from "./request-metrics";
import { metricsResponse } from "../../machinery/prometheus";
import pkg from "../../../package.json";

export interface User {
  user: string;
  groups: string[];
}

export interface CreateOnlyResource {
  identity: KindIdentity;
  /** The answer to a create of `body` (already decoded) by `user`; throw an ApiError to refuse. */
  create(user: User, body: Record<string, unknown>, namespace: string | undefined): unknown | Promise<unknown>;
}

export interface ApiServerOptions {
  store: Store;
  config: ServerConfig;
  /** May answer asynchronously (a service-account token seen for the first time). */
  authenticate(req: Request): User | undefined | Promise<User | undefined>;
  /** Defaults to every resource bramble serves. */
  resources?: ResourceDef[];
  /** The user a request acts as when it asks to impersonate another (throws a 403 or 400 ApiError to refuse). */
  impersonate?(user: User, req: Request): Promise<User>;
  /** Kinds served only by create, answered and never stored (the review APIs). */
  createOnly?: CreateOnlyResource[];
  /** Admission steps run after the built-in ones (they may read the writer with requestUser()). */
  admission?: AdmissionPlugin[];
  /** Called before a non-resource path (/metrics) is served; throws a 403 ApiError to refuse it. */
  authorizeNonResource?(user: User, verb: string, path: string): Promise<void>;
  /** Called before a resource request is dispatched; throws a 403 ApiError to refuse it. */
  authorize?(user: User, req: Request, url: URL, target: ResourceRequest): Promise<void>;
  /** How the API server authenticates to agents for logs/exec; default: JWTs signed by the CA key in the data dir. */
  kubeletSigner?: KubeletTokenSigner;
  /** Signs service-account tokens (serviceaccounts/token); default: the key in the data dir. */
  serviceAccountSigner?: ServiceAccountTokenSigner;
  /** Where metrics.k8s.io reads a node's usage; default: the node's agent, as for logs/exec. */
  metricsSummaries?: SummaryFetcher;
  /** Routes served without authentication (the join endpoints), registered before the auth check. */
  publicRoutes?(app: Hono<any>, ctx: ApiContext): void;
}

export interface ApiServer {
  fetch(req: Request, server?: Server<unknown>): Response | Promise<Response>;
  websocket?: WebSocketHandler<unknown>;
  stop(): Promise<void>;
  /** For in-process callers (tests, benchmarks): the object layer behind the HTTP API. */
  context: ApiContext;
  /** /healthz, /livez and /readyz: the server adds the checks of what it starts around the API. */
  health: HealthChecks;
}

/** kube-apiserver's --etcd-healthcheck-timeout default: a store slower than this does not answer. */
const STORE_CHECK_TIMEOUT_MS = 2_000;

export async function createApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const resources = opts.resources ?? allResources;
  // Each resource in every version it is served in; the object layer sees the stored ones only.
  const servedDefs = servedResources(resources);
  const byPath = new Map(servedDefs.map((d) => [`${d.group}/${d.version}/${d.plural}`, d]));
  const byGroup = new Map(resources.map((d) => [`${d.group}/${d.plural}`, d]));
  const resource = (group: string, plural: string) => {
    const d = byGroup.get(`${group}/${plural}`) ?? customResources?.stored(group, plural);
    if (!d) throw new Error(`resource ${plural}.${group} is not registered`);
    return d;
  };

  const cache = await WatchCache.start(opts.store);
  const eventExpiry = startEventExpiry(cache, opts.store);
  const services = new ServiceAllocator(opts.config.serviceCidr, opts.config.serviceNodePortRange, { reservedIps: [opts.config.clusterDns] });
  const nodeCidrs = new NodeCidrAllocator(opts.config.clusterCidr);
  // Upstream's order: LimitRanger fills defaults, Priority sets spec.priority, then quota
  // admission charges what the object asks for.
  const limitRangeDef = byGroup.get("/limitranges");
  const quotaDef = byGroup.get("/resourcequotas");
  const priorityClasses = resource("scheduling.k8s.io", "priorityclasses");
  const admission: AdmissionPlugin[] = [services, nodeCidrs];
  if (limitRangeDef) admission.push(new LimitRanger((ns) => objects.list(limitRangeDef, ns).items as LimitRange[]));
  admission.push(
    new PriorityAdmission({
      get: (name) => objects.tryGet(priorityClasses, undefined, name) as PriorityClass | undefined,
      list: () => objects.list(priorityClasses).items as PriorityClass[],
    }),
  );
  const storageClassDef = byGroup.get("storage.k8s.io/storageclasses");
  if (storageClassDef) admission.push(new StorageAdmission(() => objects.list(storageClassDef).items as StorageClass[]));
  const ingressClassDef = byGroup.get("networking.k8s.io/ingressclasses");
  if (ingressClassDef) admission.push(new DefaultIngressClassAdmission(() => objects.list(ingressClassDef).items as IngressClass[]));
  // Upstream's order: the webhooks after the built-in plugins that fill fields, before quota.
  const mutatingWebhooksDef = byGroup.get("admissionregistration.k8s.io/mutatingwebhookconfigurations");
  const validatingWebhooksDef = byGroup.get("admissionregistration.k8s.io/validatingwebhookconfigurations");
  const namespacesDef = byGroup.get("/namespaces");
  const servicesDef = byGroup.get("/services");
  const slicesDef = byGroup.get("discovery.k8s.io/endpointslices");
  if (mutatingWebhooksDef && validatingWebhooksDef)
    admission.push(
      new WebhookAdmission({
        mutating: () => objects.list(mutatingWebhooksDef).items as WebhookConfiguration[],
        validating: () => objects.list(validatingWebhooksDef).items as WebhookConfiguration[],
        namespaceLabels: (ns) => (namespacesDef ? objects.tryGet(namespacesDef, undefined, ns)?.metadata.labels : undefined),
        service: (ns, name) => (servicesDef ? (objects.tryGet(servicesDef, ns, name) as Service | undefined) : undefined),
        endpointSlices: (ns, svc) =>
          slicesDef ? (objects.list(slicesDef, ns).items as EndpointSlice[]).filter((s) => s.metadata.labels?.[LABEL_SERVICE_NAME] === svc) : [],
      }),
    );
  if (quotaDef)
    admission.push(
      new QuotaAdmission({
        list: (ns) => objects.list(quotaDef, ns).items as ResourceQuota[],
        replace: (q) => objects.replace(quotaDef, q, Number(q.metadata.resourceVersion)),
      }),
    );
  admission.push(...(opts.admission ?? []));
  const objects = new Objects(opts.store, cache, admission, resource("", "namespaces"));
  nodeCidrs.onUnavailable = (node, message) => recordEvent(objects, resource("", "events"), { apiVersion: "v1", kind: "Node", obj: node }, "Warning", "CIDRNotAvailable", message, "cidrAllocator");
  services.restore(objects.list(resource("", "services")).items);
  nodeCidrs.restore(objects.list(resource("", "nodes")).items);
  const deleter = new Deleter(objects);
  // CustomResourceDefinitions' resources, served from the moment their definition is stored.
  const crdDef = byGroup.get("apiextensions.k8s.io/customresourcedefinitions");
  const customResources: CustomResources | undefined = crdDef && new CustomResources(objects, cache, deleter, crdDef, (group, plural) => byGroup.has(`${group}/${plural}`));
  customResources?.start();
  const ctx: ApiContext = { config: opts.config, store: opts.store, cache, objects, deleter, resources, resource, watches: new Set() };

  await bootstrap(objects, opts.config, resource);
  const kubernetesService = keepKubernetesService(objects, opts.config, resource, log);
  const kubeDnsNodes = followNodesForKubeDns(cache, objects, opts.config, resource, log);

  // Not strict about a trailing slash: kube-apiserver answers /version/, /api/ and /apis/apps/v1/
  // as their slashless forms, and the Python client's discovery calls use them.
  const app = new Hono<{ Bindings: { server?: Server<unknown> }; Variables: { user: User } }>({ strict: false });
  app.onError((err) => {
    if (err instanceof ApiError) return statusResponse(err);
    if (err instanceof StorageFullError) {
      // As kube-apiserver answers when etcd is over its space quota: a 500 InternalError naming
      // the cause. Nothing of the write was stored; it can be retried once space is freed.
      log.error("a write failed: the datastore's disk is full", { error: err.detail });
      return statusResponse(internal(`Internal error occurred: ${err.message}`));
    }
    log.error("unexpected error serving request", { error: String(err), stack: (err as Error).stack });
    return statusResponse(internal("an internal error occurred; see the server log"));
  });
  app.notFound((c) => statusResponse(pathNotFound(new URL(c.req.url).pathname)));

  const health = new HealthChecks()
    .add("ping", ["healthz", "livez", "readyz"], () => {})
    // "etcd" is the name kube-apiserver (and k3s over kine) give the datastore check; tools and
    // scripts that read or exclude it by name work unchanged whatever the store's engine.
    // A read that reaches the engine (as upstream's etcd check reads <prefix>/health), not a cached revision.
    .add("etcd", ["healthz", "livez", "readyz"], withTimeout(STORE_CHECK_TIMEOUT_MS, "the datastore did not answer within 2s", async () => void (await opts.store.get("/registry/health"))));
  health.serve(app);
  opts.publicRoutes?.(app, ctx);
  // group/version/plural of everything served (and group/version/ of each group-version), for
  // the request metrics' labels.
  const served = new Set<string>();
  for (const k of [...servedDefs, ...(opts.createOnly ?? []).map((r) => r.identity), ...Object.values(VIRTUAL_KINDS)]) {
    served.add(`${k.group}/${k.version}/${k.plural}`);
    served.add(`${k.group}/${k.version}/`);
  }
  const isServed = (group: string, version: string, plural: string) =>
    served.has(`${group}/${version}/${plural}`) || (plural === "" ? !!customResources?.served().some((d) => d.group === group && d.version === version) : !!customResources?.find(group, version, plural));
  app.use("*", async (c, next) => {
    const start = performance.now();
    const found = opts.authenticate(c.req.raw);
    const authenticated = found instanceof Promise ? await found : found;
    if (!authenticated) return statusResponse(unauthorized());
    const user = opts.impersonate ? await opts.impersonate(authenticated, c.req.raw) : authenticated;
    c.set("user", user);
    await next();
    const req = c.req.raw;
    const url = req.url;
    const q = url.indexOf("?");
    const pathStart = url.indexOf("/", url.indexOf("//") + 2);
    const path = q < 0 ? url.slice(pathStart) : url.slice(pathStart, q);
    recordRequest(requestLabels(req.method, path, q < 0 ? "" : url.slice(q), req.headers.get("content-type"), isServed), c.res.status, start);
  });

  // Prometheus metrics: a non-resource path RBAC grants by nonResourceURLs (cluster-admin has it).
  app.get("/metrics", async (c) => {
    await opts.authorizeNonResource?.(c.get("user"), "get", "/metrics");
    return metricsResponse();
  });

  const address = `${opts.config.advertiseAddress}:${opts.config.httpsListenPort}`;
  app.get("/version", (c) => c.json(versionInfo(pkg.version)));
  app.get("/api", () => json(apiVersions(address)));
  const createOnly = opts.createOnly ?? [];
  const discoverable = [...servedDefs, ...createOnly.map((r) => r.identity)];
  app.get("/api/v1", () => json(resourceList("v1", servedDefs.filter((d) => d.group === "" && d.version === "v1"))));
  const virtualKinds = Object.values(VIRTUAL_KINDS);
  const groups = () => [...discoverable, ...virtualKinds, ...(customResources?.served() ?? [])];
  const allServed = () => (customResources ? [...servedDefs, ...customResources.served()] : servedDefs);
  app.get("/apis", () => json(apiGroupList(groups())));
  app.get("/apis/:group", (c) => {
    const g = apiGroup(groups(), c.req.param("group"));
    if (!g) throw pathNotFound(c.req.path);
    return json(g);
  });
  app.get("/apis/:group/:version", (c) => {
    const { group, version } = c.req.param();
    const defs = allServed().filter((d) => d.group === group && d.version === version);
    const creatable = createOnly.map((r) => r.identity).filter((k) => k.group === group && k.version === version);
    const virtual = virtualKinds.filter((k) => k.group === group && k.version === version);
    if (!defs.length && !creatable.length && virtual.length) return json(readOnlyResourceList(`${group}/${version}`, virtual));
    if (!defs.length && !creatable.length) throw pathNotFound(c.req.path);
    return json(resourceList(`${group}/${version}`, defs, creatable));
  });
  serveOpenApi(app, servedDefs, customResources);

  const kubeletSigner = opts.kubeletSigner ?? caKeySigner(opts.config.dataDir);
  const tokens = opts.serviceAccountSigner ?? dataDirTokenSigner(opts.config.dataDir);
  const lookup = (group: string, version: string, plural: string) => byPath.get(`${group}/${version}/${plural}`) ?? customResources?.find(group, version, plural);
  const createOnlyByPath = new Map(createOnly.map((r) => [`${r.identity.group}/${r.identity.version}/${r.identity.plural}`, r]));
  const serveCreateOnly = async (req: Request, url: URL, user: User, found: { resource: CreateOnlyResource; namespace?: string }) => {
    const { resource, namespace } = found;
    const def = resource.identity as unknown as ResourceDef;
    await opts.authorize?.(user, req, url, { def, namespace });
    if (req.method !== "POST") throw methodNotAllowed(`the server does not allow this method on the requested resource (${req.method} ${url.pathname})`);
    const body = await parseBody(req);
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest(`the request body must be a ${resource.identity.kind}`);
    const answer = await resource.create(user, body as Record<string, unknown>, namespace);
    return json({ ...(answer as object), apiVersion: apiVersionOf(resource.identity), kind: resource.identity.kind }, 201);
  };
  const findCreateOnly = (path: string): { resource: CreateOnlyResource; namespace?: string } | undefined => {
    const parts = path.split("/").filter(Boolean);
    if (parts[0] !== "apis") return undefined;
    const [, group, version, ...rest] = parts;
    const namespaced = rest.length === 3 && rest[0] === "namespaces";
    if (rest.length !== 1 && !namespaced) return undefined;
    const resource = createOnlyByPath.get(`${group}/${version}/${rest[rest.length - 1]}`);
    if (!resource || resource.identity.namespaced !== namespaced) return undefined;
    return { resource, namespace: namespaced ? rest[1] : undefined };
  };
  const serveResource = async (req: Request, server: Server<unknown> | undefined, user: User) => {
    const url = new URL(req.url);
    const creatable = createOnly.length ? findCreateOnly(url.pathname) : undefined;
    if (creatable) return serveCreateOnly(req, url, user, creatable);
    const r = parseResourcePath(url.pathname, lookup);
    await opts.authorize?.(user, req, url, r);
    // parseResourcePath admits only the subresources a definition declares (token: ServiceAccounts).
    if (r.subresource === "token" && r.name && r.namespace) {
      if (req.method !== "POST") throw methodNotAllowed(`the server does not allow this method on the requested resource (${req.method} ${url.pathname})`);
      return createToken(ctx, tokens, req, r.namespace, r.name);
    }
    return dispatch(ctx, kubeletSigner, req, server, url, r.def, r.namespace, r.name, r.subresource);
  };
  const metrics = new MetricsApi(ctx, new SummaryCache(opts.metricsSummaries ?? agentSummaryFetcher(kubeletSigner)));
  app.all(`${METRICS_PREFIX}*`, async (c) => {
    const url = new URL(c.req.url);
    const r = parseMetricsPath(url.pathname);
    // The authorizer judges group and resource (metrics.k8s.io nodes or pods), like any other.
    const def = { group: r.kind.group, version: r.kind.version, plural: r.kind.plural, namespaced: r.kind.namespaced } as ResourceDef;
    await opts.authorize?.(c.get("user"), c.req.raw, url, { def, namespace: r.namespace, name: r.name });
    return metrics.serve(c.req.raw, url, r);
  });
  // Errors become responses here, inside the request, so warnings collected before one reach the client.
  const serveWithWarnings = (req: Request, server: Server<unknown> | undefined, user: User) =>
    withWarnings(() => serveResource(req, server, user).catch((e) => (e instanceof ApiError ? statusResponse(e) : Promise.reject(e))));
  app.all("/api/*", (c) => runAsUser(c.get("user"), () => serveWithWarnings(c.req.raw, c.env?.server, c.get("user"))));
  app.all("/apis/*", (c) => runAsUser(c.get("user"), () => serveWithWarnings(c.req.raw, c.env?.server, c.get("user"))));

  return {
    context: ctx,
    health,
    fetch: (req, server) => app.fetch(req, { server }),
    // Upgraded connections (exec tunnels) carry their own session object.
    websocket: socketHandler as WebSocketHandler<unknown>,
    async stop() {
      for (const close of [...ctx.watches]) close();
      eventExpiry.stop();
      kubernetesService.stop();
      customResources?.stop();
      kubeDnsNodes.stop();
      cache.stop();
    },
  };
}

function dispatch(ctx: ApiContext, kubeletSigner: KubeletTokenSigner, req: Request, server: Server<unknown> | undefined, url: URL, def: ResourceDef, namespace: string | undefined, name: string | undefined, sub: string | undefined): Response | Promise<Response> {
  const method = req.method;
  const notAllowed = () => methodNotAllowed(`the server does not allow this method on the requested resource (${method} ${url.pathname})`);
  if (!name) {
    if (method === "GET") return boolParam(url, "watch") ? watchObjects(ctx, req, server, url, def, namespace) : listObjects(ctx, req, url, def, namespace);
    if (method === "POST") {
      if (def.namespaced && !namespace) throw notAllowed();
      return createObject(ctx, req, url, def, namespace);
    }
    if (method === "DELETE") return deleteCollection(ctx, req, url, def, namespace);
    throw notAllowed();
  }
  if (def.namespaced && !namespace) throw pathNotFound(url.pathname);
  switch (sub) {
    case undefined:
      if (method === "GET") return boolParam(url, "watch") ? watchObjects(ctx, req, server, url, def, namespace, name) : getObject(ctx, req, url, def, namespace, name);
      if (method === "PUT") return updateObject(ctx, req, url, def, namespace, name);
      if (method === "PATCH") return patchObject(ctx, req, url, def, namespace, name);
      if (method === "DELETE") return deleteObject(ctx, req, url, def, namespace, name);
      break;
    case "status":
      if (method === "GET") return getObject(ctx, req, url, def, namespace, name);
      if (method === "PUT") return updateObject(ctx, req, url, def, namespace, name, "status");
      if (method === "PATCH") return patchObject(ctx, req, url, def, namespace, name, "status");
      break;
    case "ephemeralcontainers":
      if (method === "GET") return getObject(ctx, req, url, def, namespace, name);
      if (method === "PUT") return updateObject(ctx, req, url, def, namespace, name, sub);
      if (method === "PATCH") return patchObject(ctx, req, url, def, namespace, name, sub);
      break;
    case "scale":
      return scale(ctx, req, url, storedDef(def), namespace, name);
    case "binding":
      if (method === "POST") return bind(ctx, req, url, def, namespace!, name);
      break;
    case "eviction":
      if (method === "POST") return evict(ctx, req, url, def, namespace!, name);
      break;
    case "log":
    case "exec":
      return sub === "log" ? podLogs(ctx, kubeletSigner, req, server, url, def, namespace!, name) : podExec(ctx, kubeletSigner, req, server, url, def, namespace!, name);
    case "attach":
      return podAttach(ctx, kubeletSigner, req, server, url, def, namespace!, name);
    case "proxy":
      return proxySubresource(ctx, kubeletSigner, req, server, url, def, namespace, name);
    case "portforward":
      return podPortForward(ctx, kubeletSigner, req, server, url, def, namespace!, name);
  }
  throw notAllowed();
}

/** Signs with <data-dir>/server/tls/service-account.key, read (or made) on first use. */
function dataDirTokenSigner(dataDir: string): ServiceAccountTokenSigner {
  let signer: ServiceAccountTokenSigner | undefined;
  return (grant) => (signer ??= tokenSigner(ensureServiceAccountKey(dataDir)))(grant);
}
