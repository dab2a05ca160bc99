// @kubernetes/client-node (the official JavaScript client, which bramble's authors did not write)
// against a real `bramble server` process, configured only by the kubeconfig the server wrote.
// The client runs in a child process per scenario; helpers/client-node-scenarios.ts says why.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { startTestServer, type TestServer } from "./helpers/server";
import { testEnv } from "./helpers/env";

setDefaultTimeout(60_000);

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
}, 60_000);
afterAll(async () => {
  await s?.cleanup();
});

const SCENARIOS = join(import.meta.dir, "helpers", "client-node-scenarios.ts");

async function scenario(name: string): Promise<any> {
  const p = Bun.spawn(["bun", SCENARIOS, name, s.kubeconfig], {
    env: testEnv({ NODE_EXTRA_CA_CERTS: join(s.dataDir, "server", "tls", "server-ca.crt") }),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => p.kill("SIGKILL"), 45_000);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`client-node scenario ${name} failed (${p.signalCode ?? code}):\n${err}\n${out}`);
  return JSON.parse(out);
}

describe("@kubernetes/client-node", () => {
  test("the kubeconfig names the server, and namespaces list", async () => {
    const r = await scenario("namespaces");
    expect(r.server).toBe(s.url);
    expect([...r.names].sort()).toEqual(["default", "kube-node-lease", "kube-public", "kube-system"]);
    expect(r.listResourceVersion).toMatch(/^\d+$/);
    expect(r.kubeSystemPhase).toBe("Active");
  });

  test("create, list with a label selector and pages, patch, replace, delete configmaps", async () => {
    const r = await scenario("configmaps");
    expect(r.created.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.created.creationTimestampIsDate).toBe(true);
    expect(r.listed).toEqual([
      ["cn-one", { a: "1" }],
      ["cn-two", { b: "2" }],
    ]);
    expect(r.page1.names).toEqual(["cn-one"]);
    expect(r.page1.continue).toBeTruthy();
    expect(r.page2).toEqual({ names: ["cn-two"], continue: "" });
    expect(r.patched).toEqual({ a: "1", c: "3" });
    expect(r.replaced.data).toEqual({ z: "26" });
    expect(Number(r.replaced.rv)).toBeGreaterThan(Number(r.replaced.previousRv));
    expect(r.stale.code).toBe(409);
    expect(r.stale.body).toMatchObject({ kind: "Status", reason: "Conflict", code: 409 });
    expect(r.missing.code).toBe(404);
    expect(r.missing.body).toMatchObject({ kind: "Status", reason: "NotFound", code: 404, details: { name: "cn-one", kind: "configmaps" } });
  });

  test("Watch sees ADDED, MODIFIED and DELETED in order, and only what matches", async () => {
    const r = await scenario("watch");
    expect(r.events.map((e: any) => `${e.type} ${e.name}`)).toEqual(["ADDED w1", "MODIFIED w1", "ADDED w2", "DELETED w1", "DELETED w2"]);
    expect(r.events[1].data).toEqual({ v: "2" });
    const rvs = r.events.map((e: any) => Number(e.rv));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    expect(new Set(rvs).size).toBe(rvs.length);
    expect(r.ended).toBe("still open");
  });

  test("an Informer keeps its cache in step and calls add, update, delete in order", async () => {
    const r = await scenario("informer");
    expect(r.seen).toEqual(["add pre", "add i1", 'update i1 {"v":"2"}', "delete pre", "delete i1"]);
    expect(r.cacheAfterDeletes).toEqual([]);
    expect(r.i2).toEqual({ v: "9" });
    expect(r.errors).toEqual([]);
  });

  test("a watch answers (status and headers) before its first event, as streaming clients expect", async () => {
    // fetch() resolves on the headers. If the server held them back until an event, this fetch
    // would only resolve when the watch times out, with the stream already over, and the
    // ConfigMap created below would never be seen.
    const res = await s.fetch("/api/v1/namespaces/default/configmaps?watch=1&labelSelector=suite%3Dheaders&timeoutSeconds=20");
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    try {
      await s.fetch("/api/v1/namespaces/default/configmaps", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ metadata: { name: "headers-first", labels: { suite: "headers" } } }),
      });
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      const event = JSON.parse(text.slice(0, text.indexOf("\n")));
      expect(event.type).toBe("ADDED");
      expect(event.object.metadata.name).toBe("headers-first");
    } finally {
      await reader.cancel();
    }
  });
});
