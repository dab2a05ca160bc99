// startServer's own duties, with a stand-in API server: files and credentials, authentication
// in front of every route, kubeconfigs, the port-in-use message and graceful shutdown order.

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readKubeconfig, resolveContext } from "../client/kubeconfig";
import type { ServerConfig } from "./config";
import { testConfig } from "./apiserver/testing";
import { HealthChecks } from "./apiserver/health";
import { controllerIdentity, startServer, type ServerParts } from "./server";
import { openStore } from "./store/index";

process.env.BRAMBLE_LOG_LEVEL ??= "warn"; // keep test output readable

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

function config(): ServerConfig {
  const dataDir = mkdtempSync(join(tmpdir(), "bramble-server-"));
  dirs.push(dataDir);
  return testConfig({
    dataDir,
    httpsListenPort: freePort(),
    writeKubeconfig: join(dataDir, "elsewhere", "config"),
    disableAgent: false,
  });
}

/** A stand-in API server that records what happens to it. */
function fakeParts(events: string[]): ServerParts {
  return {
    openStore: async (url) => {
      const store = await openStore(url);
      const close = store.close.bind(store);
      store.close = async () => {
        events.push("store.close");
        await close();
      };
      return store;
    },
    createApiServer: (async () => ({
      health: new HealthChecks(),
      fetch: (req: Request) => Response.json({ path: new URL(req.url).pathname }),
      stop: async () => {
        events.push("api.stop");
      },
    })) as unknown as ServerParts["createApiServer"],
  };
}

test("serves HTTPS with the cluster CA, requires the admin token, writes kubeconfigs, stops in order", async () => {
  const cfg = config();
  const events: string[] = [];
  const server = await startServer(cfg, fakeParts(events));
  try {
    expect(server.url).toBe(`https://127.0.0.1:${cfg.httpsListenPort}`);
    expect(server.caCertHash).toMatch(/^sha256:[0-9a-f]{64}$/);

    expect(statSync(join(cfg.dataDir, "server")).mode & 0o777).toBe(0o700);
    for (const path of [server.adminKubeconfigPath, cfg.writeKubeconfig!]) {
      expect(statSync(path).mode & 0o777).toBe(0o600);
    }
    const creds = resolveContext(readKubeconfig(cfg.writeKubeconfig!));
    expect(creds.server).toBe(server.url);
    expect(creds.token).toBe(readFileSync(join(cfg.dataDir, "server", "admin-token"), "utf8").trim());

    const tls = { ca: creds.caCertPem };
    const anonymous = await fetch(`${server.url}/api/v1/namespaces`, { tls });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
    const wrong = await fetch(`${server.url}/api`, { tls, headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    const health = await fetch(`${server.url}/readyz`, { tls });
    expect(await health.json()).toEqual({ path: "/readyz" });
    // The dashboard's static files need no token (the page asks for one).
    expect(await (await fetch(`${server.url}/dashboard/app.js`, { tls })).json()).toEqual({ path: "/dashboard/app.js" });
    const authed = await fetch(`${server.url}/api/v1/namespaces`, { tls, headers: { authorization: `Bearer ${creds.token}` } });
    expect(await authed.json()).toEqual({ path: "/api/v1/namespaces" });
  } finally {
    await server.stop();
  }
  expect(events).toEqual(["api.stop", "store.close"]);
  await expect(fetch(`${server.url}/readyz`, { tls: { rejectUnauthorized: false } })).rejects.toThrow();
});

test("--disable dashboard: /dashboard/ is no longer public", async () => {
  const cfg = { ...config(), dashboard: false };
  const server = await startServer(cfg, fakeParts([]));
  try {
    const tls = { ca: resolveContext(readKubeconfig(cfg.writeKubeconfig!)).caCertPem };
    expect((await fetch(`${server.url}/dashboard/`, { tls })).status).toBe(401);
  } finally {
    await server.stop();
  }
});

test("a port in use is one clear error, and nothing is left open", async () => {
  const cfg = config();
  const blocker = Bun.serve({ hostname: "127.0.0.1", port: cfg.httpsListenPort, fetch: () => new Response() });
  const events: string[] = [];
  try {
    await expect(startServer(cfg, fakeParts(events))).rejects.toThrow(
      `--https-listen-port: 127.0.0.1:${cfg.httpsListenPort} is already in use`,
    );
    expect(events).toEqual(["api.stop", "store.close"]);
    expect(existsSync(join(cfg.dataDir, "server", "admin.kubeconfig"))).toBe(false);
  } finally {
    blocker.stop(true);
  }
});

test("restart keeps the CA and the admin token", async () => {
  const cfg = config();
  const first = await startServer(cfg, fakeParts([]));
  await first.stop();
  const kubeconfig = readFileSync(first.adminKubeconfigPath, "utf8");
  const second = await startServer(cfg, fakeParts([]));
  await second.stop();
  expect(second.caCertHash).toBe(first.caCertHash);
  expect(readFileSync(second.adminKubeconfigPath, "utf8")).toBe(kubeconfig);
});

describe("controllerIdentity", () => {
  test("is the same for a data directory across restarts, and differs between directories", () => {
    expect(controllerIdentity("/var/lib/x")).toBe(controllerIdentity("/var/lib/x/"));
    expect(controllerIdentity("/var/lib/x")).not.toBe(controllerIdentity("/var/lib/y"));
  });
});
