// An in-process API server on the memory store, for unit tests of the HTTP behaviour.
import { ApiError } from "../../api/errors";
import { KubeClient } from "../../client/client";
import type { ServerConfig } from "../config";
import { generateServiceAccountKey, tokenSigner } from "../auth/serviceaccount/index";
import { openStore } from "../store";
import { createApiServer, type ApiServer, type ApiServerOptions } from ".";

export const TEST_TOKEN = "test-token";

export const testConfig = (over: Partial<ServerConfig> = {}): ServerConfig => ({
  dataDir: "/nonexistent",
  bindAddress: "127.0.0.1",
  httpsListenPort: 6443,
  advertiseAddress: "127.0.0.1",
  datastoreEndpoint: "memory:",
  clusterCidr: "10.42.0.0/16",
  serviceCidr: "10.43.0.0/16",
  serviceNodePortRange: [30000, 32767],
  clusterDns: "10.43.0.10",
  clusterDomain: "cluster.local",
  podNetwork: "host-gw",
  serviceProxy: true,
  clusterDnsServer: true,
  serviceLB: true,
  disableAgent: true,
  schedulerPolicy: "binpack",
  nodeMonitorGracePeriodSeconds: 20,
  notReadyTolerationSeconds: 10,
  ...over,
});

export interface TestApi {
  api: ApiServer;
  /** A request with the test bearer token; JSON bodies are serialized. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  raw(req: Request): Promise<Response>;
  stop(): Promise<void>;
}

export async function startTestApi(config: Partial<ServerConfig> = {}, extra: Pick<ApiServerOptions, "metricsSummaries" | "authorize"> = {}): Promise<TestApi> {
  const store = await openStore(testConfig(config).datastoreEndpoint);
  const api = await createApiServer({
    store,
    config: testConfig(config),
    authenticate: (req) => (req.headers.get("authorization") === `Bearer ${TEST_TOKEN}` ? { user: "admin", groups: ["system:masters"] } : undefined),
    // The data dir does not exist: tokens are signed with a key held in memory.
    serviceAccountSigner: tokenSigner(generateServiceAccountKey()),
    ...extra,
  });
  const raw = async (req: Request) => api.fetch(req);
  return {
    api,
    raw,
    async call(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { authorization: `Bearer ${TEST_TOKEN}`, ...headers } };
      if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)["content-type"] ??= "application/json";
      }
      const res = await raw(new Request(`https://bramble.test${path}`, init));
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async stop() {
      await api.stop();
      await store.close();
    },
  };
}

export interface HttpTestApi {
  t: TestApi;
  /** A typed client for the API over plain HTTP on loopback, as components use in production. */
  client: KubeClient;
  stop(): Promise<void>;
}

/** The in-process API server served over real HTTP, for tests of clients, controllers and agents. */
export async function startHttpTestApi(config: Partial<ServerConfig> = {}): Promise<HttpTestApi> {
  const t = await startTestApi(config);
  const http = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req, server) => t.api.fetch(req, server) });
  const client = new KubeClient({ server: `http://127.0.0.1:${http.port}`, token: TEST_TOKEN, namespace: "default" });
  return {
    t,
    client,
    async stop() {
      http.stop(true);
      await t.stop();
    },
  };
}

/** The ApiError `f` throws; anything else it throws, or nothing, fails the calling test. */
export function apiErrorOf(f: () => unknown): ApiError {
  try {
    f();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("expected an ApiError");
}
