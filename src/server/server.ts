// startServer(cfg): the control plane in start-up order — data directory, PKI, credentials,
// store, API server, HTTPS listener, kubeconfigs, controllers and scheduler, and last the
// embedded agent (started through the startAgent the CLI hands in: server/ does not import agent/).

import { chmodSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { KubeClient } from "../client/client";
import { adminKubeconfig, serverUrl, writeKubeconfig } from "../client/kubeconfig";
import { createLogger } from "../machinery/log";
import { createApiServer } from "./apiserver/index";
import type { Secret } from "../api/resources/core/secret";
import {
  ADMIN,
  bearerAuthenticator,
  chainAuthenticators,
  checkAccess,
  createAuthorizer,
  ensureBootstrapPolicy,
  feedRbacIndex,
  impersonatedUser,
  reviewResources,
  rbacEscalationAdmission,
  RbacIndex,
  createNodeAuthenticator,
  createServiceAccountAuthenticator,
  createTokenAuthenticator,
  ensureAdminToken,
  ensureServiceAccountKey,
  tokenSigner,
  isPublicPath,
  createUserCredentialAuthenticator,
  ensureUserCredentialKey,
  isUserCredentialsPath,
  recordsOf,
  USER_CREDENTIAL_NAMESPACE,
  userCredentialSecretName,
  userCredentialsResponse,
  unauthorizedResponse,
  type Authenticator,
} from "./auth/index";
import { ensureServerToken, joinRoutes, serverNodeCredential } from "./join/index";
import { dashboardRoutes, isDashboardPath } from "./dashboard/routes";
import type { ServerConfig } from "./config";
import { listenHttps } from "./listen";
import { ensurePki } from "./pki/index";
import { hostname } from "node:os";
import { startControllers, type RunningControllers } from "./controllers/index";
import { startScheduler } from "./scheduler/index";
import { instrumentStore } from "./store/metrics";
import { rbacAllows } from "./auth/rbac/authorize";
import { forbidden } from "../api/errors";
import { embeddedStoreFile, openStore } from "./store/index";
import { removePidFile, writePidFile } from "./pid-file";
import { removePreRestoreFiles } from "./snapshots/files";
import { checkSnapshotSchedule, startSnapshotSchedule } from "./snapshots/schedule";
import { isSecretsEncryptPath, secretsEncryptResponse, setUpSecretsEncryption } from "./encryption/index";
import { startIdleMemoryRelease } from "./idle-memory";

export interface RunningServer {
  /** https://<advertise-address>:<port> */
  url: string;
  adminKubeconfigPath: string;
  /** sha256:<hex> pin of the cluster CA, for join commands. */
  caCertHash: string;
  /** Graceful: stop accepting, end watches, finish in-flight requests (bounded), close the store. */
  stop(): Promise<void>;
}

/** How long stop() lets in-flight requests finish before cutting connections. */
const DRAIN_TIMEOUT_MS = 5_000;

/**
 * The controller-manager Lease holder's name: the host plus its data directory, stable across
 * restarts, so a server restarted after a crash takes its own Lease back at once instead of
 * waiting out the dead process's term. Two servers never share a data directory.
 */
export const controllerIdentity = (dataDir: string) =>
  `${hostname()}_${new Bun.CryptoHasher("sha256").update(resolve(dataDir)).digest("hex").slice(0, 8)}`;

export const adminKubeconfigPath = (dataDir: string) => join(dataDir, "server", "admin.kubeconfig");

/** What the embedded agent is given: the server's in-process loopback connection. */
export interface EmbeddedAgentContext {
  /**
   * A client authenticated as system:node:<nodeName> (a node credential issued for it), never
   * the admin: the node authorizer bounds the embedded node as it bounds every other.
   */
  nodeClient(nodeName: string): Promise<KubeClient>;
  caCertPem: string;
  dataDir: string;
  advertiseAddress: string;
}

/** What startServer builds on; tests substitute their own API server. */
export interface ServerParts {
  openStore: typeof openStore;
  createApiServer: typeof createApiServer;
  /** The embedded agent (`bramble server` passes startAgent); skipped with --disable-agent. */
  startEmbeddedAgent?: (ctx: EmbeddedAgentContext) => Promise<{ stop(): Promise<void> }>;
}

export const defaultServerParts: ServerParts = { openStore, createApiServer };

export async function startServer(cfg: ServerConfig, parts: ServerParts = defaultServerParts): Promise<RunningServer> {
  const log = createLogger("server");
  // Keys, tokens and the datastore live here: owner-only, even if the folder already existed.
  const serverDir = join(cfg.dataDir, "server");
  mkdirSync(serverDir, { recursive: true, mode: 0o700 });
  chmodSync(serverDir, 0o700);

  const pki = await ensurePki(cfg.dataDir, cfg);
  if (pki.caCreated) log.info("created cluster CA", { hash: pki.caCertHash });
  if (pki.servingIssuedBecause) log.info("issued serving certificate", { reason: pki.servingIssuedBecause });
  const admin = ensureAdminToken(cfg.dataDir);
  const serverToken = ensureServerToken(cfg.dataDir, pki.caCertHash, cfg.token);
  const saKey = await ensureServiceAccountKey(cfg.dataDir);
  if (saKey.created) log.info("created service-account signing key");
  const userKey = await ensureUserCredentialKey(cfg.dataDir);
  if (userKey.created) log.info("created user-credential signing key");
  // Node credentials and service-account tokens are checked against objects in the API server's
  // cache, which exists only once the API server does: until then only the admin token is accepted.
  let nodeAuth: Authenticator = () => undefined;
  let serviceAccountAuth: Authenticator = () => undefined;
  let userCredentialAuth: Authenticator = () => undefined;
  const authenticate = chainAuthenticators(
    createTokenAuthenticator([{ token: admin.token, user: ADMIN }]),
    (req) => nodeAuth(req),
    (req) => userCredentialAuth(req),
    (req) => serviceAccountAuth(req),
  );

  const storePath = embeddedStoreFile(cfg.datastoreEndpoint);
  if (cfg.snapshots && storePath) {
    await checkSnapshotSchedule(cfg.snapshots.cron).catch((e: unknown) => {
      throw new Error(`--snapshot-schedule-cron: "${cfg.snapshots && cfg.snapshots.cron}": ${e instanceof Error ? e.message : String(e)}`);
    });
  }
  const backend = await parts.openStore(cfg.datastoreEndpoint).catch((e: unknown) => {
    // Name the flag: the store's own message does not know where the URL came from.
    throw new Error(`--datastore-endpoint: ${e instanceof Error ? e.message : String(e)}`);
  });
  // Before anything reads the store: everything above it sees Secrets in plain text.
  const { store: plainStore, encryption } = await setUpSecretsEncryption(backend, { dataDir: cfg.dataDir, requested: cfg.secretsEncryption ?? false, log: log.child("encryption") }).catch(
    async (e: unknown) => {
      await backend.close().catch(() => {});
      throw e;
    },
  );
  const store = instrumentStore(plainStore);
  // `bramble restore` refuses to replace the store while this file names a live server.
  writePidFile(cfg.dataDir);
  let api: Awaited<ReturnType<typeof createApiServer>> | undefined;
  let http: ReturnType<typeof listenHttps> | undefined;
  let controllers: RunningControllers | undefined;
  let stopping: Promise<void> | undefined;
  try {
    let authorize: ReturnType<typeof createAuthorizer> | undefined;
    const rbac = new RbacIndex();
    api = await parts.createApiServer({
      admission: [rbacEscalationAdmission(rbac)],
      impersonate: (user, req) => impersonatedUser(authorize!, user, req),
      createOnly: reviewResources({ authorize: (user, attrs) => authorize!(user, attrs), rbac, authenticate }),
      store,
      config: cfg,
      authenticate,
      authorize: (user, req, url, target) => checkAccess(authorize!, user, req, url, target),
      authorizeNonResource: async (user, verb, path) => {
        if (!rbacAllows(rbac, user, { verb, path })) throw forbidden(`forbidden: User "${user.user}" cannot ${verb} path "${path}"`);
      },
      serviceAccountSigner: tokenSigner(saKey),
      publicRoutes: (app, apiCtx) => {
        joinRoutes({ caCertPem: pki.caCertPem, log: log.child("join"), serverToken })(app, apiCtx);
        // Static files only: the page calls the API with the token its user pastes.
        if (cfg.dashboard !== false) dashboardRoutes(app);
      },
    });
    // Read lazily: tests start servers around a fake API server without an object layer.
    const ctx = () => api!.context;
    const get = (plural: string, ns: string, name: string) => ctx()?.objects.tryGet(ctx().resource("", plural), ns, name);
    nodeAuth = bearerAuthenticator(createNodeAuthenticator((ns, name) => get("secrets", ns, name) as Secret | undefined));
    serviceAccountAuth = bearerAuthenticator(
      createServiceAccountAuthenticator(saKey, {
        getServiceAccount: (ns, name) => get("serviceaccounts", ns, name),
        getPod: (ns, name) => get("pods", ns, name),
        getSecret: (ns, name) => get("secrets", ns, name),
      }),
    );
    userCredentialAuth = bearerAuthenticator(
      createUserCredentialAuthenticator(userKey, { getRecord: (id) => get("secrets", USER_CREDENTIAL_NAMESPACE, userCredentialSecretName(id)) as Secret | undefined }),
    );
    if (api.context) {
      feedRbacIndex(api.context, rbac);
      await ensureBootstrapPolicy(api.context.objects, api.context.resource);
    }
    authorize = createAuthorizer({
      getPod: (ns, name) => get("pods", ns, name),
      getNode: (name) => ctx()?.objects.tryGet(ctx().resource("", "nodes"), undefined, name),
      rbac,
      ingress: {
        getSecret: (ns, name) => get("secrets", ns, name),
        ingressesIn: (ns) => ctx().objects.list(ctx().resource("networking.k8s.io", "ingresses"), ns).items,
        getIngressClass: (name) => ctx()?.objects.tryGet(ctx().resource("networking.k8s.io", "ingressclasses"), undefined, name),
      },
      // Enforcement runs on the host-gw pod network unless --disable-network-policy.
      networkPolicy: cfg.networkPolicy !== false && cfg.podNetwork === "host-gw",
      podsOnNode: (ns, node) => ctx().objects.list(ctx().resource("", "pods"), ns).items.filter((p) => (p as { spec?: { nodeName?: string } }).spec?.nodeName === node),
      getVolume: (name) => ctx()?.objects.tryGet(ctx().resource("", "persistentvolumes"), undefined, name),
    });
    // The listener opens before the control loops start, so kubectl, agents and probes can reach
    // the server at once; until the loops run (or another server is seen leading them) readyz says so.
    api.health
      .add("informer-sync", ["readyz"], () => {
        if (!controllers) throw new Error("the controllers have not started");
        if (!controllers.status().informersSynced) throw new Error("the controllers' informers have not synced");
      })
      .add("controllers", ["readyz"], () => loopsRunning(controllers, (name) => name !== SCHEDULER))
      .add("scheduler", ["readyz"], () => loopsRunning(controllers, (name) => name === SCHEDULER))
      .add("shutdown", ["readyz"], () => {
        if (stopping) throw new Error("process is shutting down");
      });
    const apiFetch = api.fetch;
    http = listenHttps({
      hostname: cfg.bindAddress,
      port: cfg.httpsListenPort,
      cert: pki.servingCertPem,
      key: pki.servingKeyPem,
      // Enforced here as well as in the API server, so no route can forget it.
      fetch(req, server) {
        const path = new URL(req.url).pathname;
        if (isPublicPath(path) || (cfg.dashboard !== false && isDashboardPath(path))) return apiFetch(req, server);
        const user = authenticate(req);
        const serve = (u: Awaited<typeof user>) =>
          !u
            ? unauthorizedResponse()
            : isSecretsEncryptPath(path)
              ? secretsEncryptResponse(encryption, req, u)
              : isUserCredentialsPath(path)
                ? userCredentialsResponse({ key: userKey, records: () => recordsOf(ctx()) }, req, u)
                : apiFetch(req, server);
        return user instanceof Promise ? user.then(serve) : serve(user);
      },
      websocket: api.websocket,
      log,
    });
  } catch (e) {
    // Undo what started, in reverse order, so a failed start leaves no open database.
    await api?.stop().catch(() => {});
    await store.close().catch(() => {});
    removePidFile(cfg.dataDir);
    throw e;
  }

  const url = serverUrl(cfg.advertiseAddress, cfg.httpsListenPort);
  const kubeconfig = adminKubeconfig({ server: url, caCertPem: pki.caCertPem, token: admin.token });
  const kubeconfigPath = adminKubeconfigPath(cfg.dataDir);
  writeKubeconfig(kubeconfigPath, kubeconfig);
  if (cfg.writeKubeconfig) writeKubeconfig(cfg.writeKubeconfig, kubeconfig);
  log.info("API server listening", { url, bind: `${cfg.bindAddress}:${http.port}`, datastore: cfg.datastoreEndpoint });
  log.info(`try: kubectl --kubeconfig ${cfg.writeKubeconfig ?? kubeconfigPath} get namespaces`);
  log.info(`nodes join with: bramble agent --server ${url} --token <the content of ${serverToken.path}>`);

  // The control loops talk to the API like any other client (DESIGN.md), through the same
  // handler and authentication, but in-process: no TLS or socket per request and watch event.
  const loopHost = cfg.bindAddress === "0.0.0.0" ? "127.0.0.1" : cfg.bindAddress;
  const apiHandler = api;
  const loopClient = new KubeClient(
    { server: serverUrl(loopHost, http.port ?? cfg.httpsListenPort), caCertPem: pki.caCertPem, token: admin.token, namespace: "default" },
    (req) => apiHandler.fetch(req),
  );
  // Controllers and the scheduler run only while this server holds the controller Lease, so
  // a second server (HA, later) never runs the loops at the same time.
  controllers = await startControllers(loopClient, {
    identity: controllerIdentity(cfg.dataDir),
    nodeMonitorGracePeriodS: cfg.nodeMonitorGracePeriodSeconds,
    notReadyTolerationS: cfg.notReadyTolerationSeconds,
    hpa: cfg.hpa,
    caCertPem: pki.caCertPem,
    disabled: [...(cfg.serviceLB === false ? ["servicelb"] : []), ...(cfg.ingress === false ? ["ingress"] : [])],
    localStorageRoot: cfg.localStorage === false ? undefined : (cfg.localStoragePath ?? join(cfg.dataDir, "storage")),
    extra: [{ name: SCHEDULER, start: ({ client, informers }) => startScheduler(client, { policy: cfg.schedulerPolicy, informers }) }],
  });

  const [listener, apiServer, loops] = [http, api, controllers];
  if (storePath) {
    // Started cleanly on a restored store: the store it replaced is no longer needed.
    for (const f of removePreRestoreFiles(storePath)) log.info("removed the store replaced by a restore", { file: f });
  }
  const snapshots =
    cfg.snapshots && storePath
      ? await startSnapshotSchedule({ dataDir: cfg.dataDir, dbPath: storePath, node: cfg.snapshots.node, cron: cfg.snapshots.cron, retention: cfg.snapshots.retention, command: cfg.snapshots.command, log: log.child("snapshots") })
      : undefined;
  let agent: { stop(): Promise<void> } | undefined;
  if (!cfg.disableAgent && parts.startEmbeddedAgent) {
    try {
      const loopUrl = serverUrl(loopHost, http.port ?? cfg.httpsListenPort);
      agent = await parts.startEmbeddedAgent({
        nodeClient: async (nodeName) => {
          const cred = await serverNodeCredential(apiHandler.context, { dataDir: cfg.dataDir, nodeName, serverUrl: loopUrl, caCertPem: pki.caCertPem });
          if (cred.issued) log.info("issued the credential of this server's node", { node: nodeName });
          return new KubeClient({ server: loopUrl, caCertPem: pki.caCertPem, token: cred.token, namespace: "default" }, (req) => apiHandler.fetch(req));
        },
        caCertPem: pki.caCertPem,
        dataDir: cfg.dataDir,
        advertiseAddress: cfg.advertiseAddress,
      });
    } catch (e) {
      // The control plane is still useful without its node (and the agent says why it failed).
      log.error("the embedded agent did not start; serving the control plane only", { err: e });
    }
  }

  const idleMemory = startIdleMemoryRelease();
  const stop = () =>
    (stopping ??= (async () => {
      log.info("shutting down");
      await snapshots?.stop().catch(() => {});
      idleMemory.stop();
      await agent?.stop().catch((e) => log.error("stopping the embedded agent failed", { err: e }));
      await loops.stop().catch((e) => log.error("stopping controllers failed", { err: e }));
      const drained = listener.stop(false); // stop accepting; in-flight requests may finish
      await apiServer.stop().catch((e) => log.error("stopping API server failed", { err: e })); // ends watches
      await Promise.race([drained, Bun.sleep(DRAIN_TIMEOUT_MS)]);
      await listener.stop(true);
      await store.close().catch((e) => log.error("closing store failed", { err: e }));
      removePidFile(cfg.dataDir);
      log.info("stopped");
    })());
  return { url, adminKubeconfigPath: kubeconfigPath, caCertHash: pki.caCertHash, stop };
}

const SCHEDULER = "scheduler";

/** readyz's controllers and scheduler checks: the loops run here, or another server leads them. */
function loopsRunning(controllers: RunningControllers | undefined, which: (name: string) => boolean) {
  const s = controllers?.status();
  if (!s) throw new Error("not started yet");
  if (s.running) {
    const failed = s.failed.filter(which);
    if (failed.length) throw new Error(`failed to start: ${failed.join(", ")}`);
    return;
  }
  if (s.otherLeader) return; // they run on the server that holds the controller lease
  throw new Error("waiting for the controller lease");
}
