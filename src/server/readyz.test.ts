// /readyz of a whole server (in-process, memory store): not ready until the controllers and the
// scheduler run (controllers/index.test.ts checks the "another server leads" side of it).
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApiServer } from "./apiserver/index";
import { testConfig } from "./apiserver/testing";
import { startServer } from "./server";
import { openStore } from "./store/index";

process.env.BRAMBLE_LOG_LEVEL ??= "warn";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

const LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/bramble-controller-manager";

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

test("readyz fails, naming the checks, until the controllers and the scheduler run; livez is ok throughout", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "bramble-readyz-"));
  dirs.push(dataDir);
  // Lease requests wait for the gate: the server is up but has not yet taken the controller Lease.
  let openGate!: () => void;
  const gate = new Promise<void>((r) => (openGate = r));
  const server = await startServer(testConfig({ dataDir, httpsListenPort: freePort() }), {
    openStore,
    createApiServer: async (opts) => {
      const api = await createApiServer(opts);
      const fetch = api.fetch;
      return { ...api, fetch: async (req, s) => (new URL(req.url).pathname.startsWith(LEASE.slice(0, LEASE.lastIndexOf("/"))) ? gate.then(() => fetch(req, s)) : fetch(req, s)) };
    },
  });
  const tls = { ca: readFileSync(join(dataDir, "server", "tls", "server-ca.crt"), "utf8") };
  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`, { tls });
    return { status: res.status, body: await res.text() };
  };
  try {
    const waiting = await get("/readyz");
    expect(waiting.status).toBe(500);
    expect(waiting.body).toBe(
      [
        "[+]ping ok",
        "[+]etcd ok",
        "[+]informer-sync ok", // no informer has started yet, so none is unsynced
        "[-]controllers failed: reason withheld",
        "[-]scheduler failed: reason withheld",
        "[+]shutdown ok",
        "readyz check failed",
        "",
      ].join("\n"),
    );
    expect(await get("/readyz/controllers")).toEqual({ status: 500, body: "internal server error: waiting for the controller lease\n" });
    expect(await get("/readyz?exclude=informer-sync&exclude=controllers&exclude=scheduler")).toEqual({ status: 200, body: "ok" });
    expect(await get("/livez")).toEqual({ status: 200, body: "ok" });

    openGate();
    await until("readyz", async () => (await get("/readyz")).status === 200);
    expect(await get("/readyz?verbose")).toEqual({
      status: 200,
      body: "[+]ping ok\n[+]etcd ok\n[+]informer-sync ok\n[+]controllers ok\n[+]scheduler ok\n[+]shutdown ok\nreadyz check passed\n",
    });
    expect(await get("/livez?verbose")).toEqual({ status: 200, body: "[+]ping ok\n[+]etcd ok\nlivez check passed\n" });
  } finally {
    openGate();
    await server.stop();
  }
});

test("a datastore that fails or hangs fails the etcd check of readyz and livez", async () => {
  const store = await openStore("memory:");
  const api = await createApiServer({ store, config: testConfig(), authenticate: () => undefined });
  const get = store.get.bind(store);
  const check = async (path: string) => {
    const res = await api.fetch(new Request(`https://x${path}`));
    return { status: res.status, body: await res.text() };
  };
  try {
    expect(await check("/livez/etcd")).toEqual({ status: 200, body: "ok" });
    store.get = () => Promise.reject(new Error("SQLITE_IOERR"));
    expect(await check("/readyz")).toMatchObject({ status: 500, body: expect.stringContaining("[-]etcd failed: reason withheld\n") });
    expect(await check("/livez/etcd")).toEqual({ status: 500, body: "internal server error: SQLITE_IOERR\n" });
    store.get = () => new Promise(() => {});
    expect(await check("/livez/etcd")).toEqual({ status: 500, body: "internal server error: the datastore did not answer within 2s\n" });
    store.get = get;
    expect(await check("/livez")).toEqual({ status: 200, body: "ok" });
  } finally {
    await api.stop();
    await store.close();
  }
});

test("readyz fails from the moment shutdown begins (load balancers stop sending), livez does not", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "bramble-readyz-"));
  dirs.push(dataDir);
  let api: Awaited<ReturnType<typeof createApiServer>> | undefined;
  const server = await startServer(testConfig({ dataDir, httpsListenPort: freePort() }), {
    openStore,
    createApiServer: async (opts) => (api = await createApiServer(opts)),
  });
  const check = async (path: string) => {
    const res = await api!.fetch(new Request(`https://x${path}`));
    return { status: res.status, body: await res.text() };
  };
  await until("readyz", async () => (await check("/readyz")).status === 200);
  const stopped = server.stop();
  expect(await check("/readyz/shutdown")).toEqual({ status: 500, body: "internal server error: process is shutting down\n" });
  expect((await check("/livez")).status).toBe(200);
  await stopped;
});
