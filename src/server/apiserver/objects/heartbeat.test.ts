// Node heartbeats through the object layer on the real libSQL store: each renewal is a new
// resourceVersion and a MODIFIED event for every watcher, but not a row on disk.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { createClient, type Client } from "@libsql/client";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeObject } from "../../../api/meta";
import { openLibsqlStore } from "../../store/libsql/open";
import type { LibsqlStore } from "../../store/libsql/libsql-store";
import { createApiServer, type ApiServer } from "..";
import { testConfig } from "../testing";
import type { CacheEvent } from "../watchcache";

const LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
const KEY = "/registry/coordination.k8s.io/leases/kube-node-lease/n1";
let dir: string;
let dbPath: string;
let store: LibsqlStore;
let api: ApiServer;
let db: Client;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "bramble-heartbeat-"));
  dbPath = join(dir, "state.db");
  // Timers off: the test decides when deferred writes are flushed.
  store = await openLibsqlStore(dbPath, { compactIntervalMs: 0, checkpointIntervalMs: 0, deferredFlushIntervalMs: 0 });
  api = await createApiServer({ store, config: testConfig(), authenticate: () => ({ user: "admin", groups: ["system:masters"] }) });
  db = createClient({ url: `file:${dbPath}` });
});
afterEach(async () => {
  db.close();
  await api.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown): Promise<KubeObject> {
  const res = await api.fetch(new Request(`https://bramble.test${path}`, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) }));
  const json = (await res.json()) as KubeObject;
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const rowsOf = async (key: string) => Number((await db.execute({ sql: "SELECT count(*) AS n FROM kv WHERE key = ?", args: [key] })).rows[0]!.n);
const renewTime = (i: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString().replace("Z", "000Z");
const spec = (i: number, holder = "n1") => ({ holderIdentity: holder, leaseDurationSeconds: 40, renewTime: renewTime(i) });

test("100 renewals of a node Lease: 100 MODIFIED events and resourceVersions, no new rows until a flush", async () => {
  let lease = await call("POST", LEASES, { metadata: { name: "n1" }, spec: spec(0) });
  const events: CacheEvent[] = [];
  const watch = api.context.cache.watch("/registry/coordination.k8s.io/leases/", Number(lease.metadata.resourceVersion), (e) => events.push(e));
  const versions = new Set<string>();
  for (let i = 1; i <= 100; i++) {
    lease = await call("PUT", `${LEASES}/n1`, { ...lease, spec: spec(i) });
    versions.add(lease.metadata.resourceVersion!);
  }
  expect(versions.size).toBe(100);
  expect(events.length).toBe(100);
  expect(events.every((e) => e.type === "MODIFIED")).toBe(true);
  expect(events.map((e) => String(e.revision))).toEqual([...versions]);
  expect((JSON.parse(events.at(-1)!.value) as KubeObject).spec).toMatchObject({ renewTime: renewTime(100) });
  expect(await call("GET", `${LEASES}/n1`)).toMatchObject({ spec: { renewTime: renewTime(100) } });
  // Only the create is on disk; the flush writes one row for the newest renewal.
  expect(await rowsOf(KEY)).toBe(1);
  await store.flush();
  expect(await rowsOf(KEY)).toBe(2);
  watch.stop();
});

test("a Lease change beyond renewTime is written at once; any Lease's pure renewal is held", async () => {
  let lease = await call("POST", LEASES, { metadata: { name: "n1" }, spec: spec(0) });
  lease = await call("PUT", `${LEASES}/n1`, { ...lease, spec: spec(1) }); // held
  lease = await call("PUT", `${LEASES}/n1`, { ...lease, spec: spec(2, "someone-else") });
  expect(await rowsOf(KEY)).toBe(3); // the create, the held renewal (carried along), the new holder
  lease = await call("PUT", `${LEASES}/n1`, { ...lease, metadata: { ...lease.metadata, labels: { a: "b" } }, spec: spec(3, "someone-else") });
  expect(await rowsOf(KEY)).toBe(4);
  const other = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";
  let leader = await call("POST", other, { metadata: { name: "ctl" }, spec: spec(0) });
  leader = await call("PUT", `${other}/ctl`, { ...leader, spec: spec(1) });
  // The controller manager's leader Lease renews every 2 s: a held write, like a node's.
  expect(await rowsOf("/registry/coordination.k8s.io/leases/kube-system/ctl")).toBe(1);
});

test("a Node status report that only moves lastHeartbeatTime is held; a condition change is written", async () => {
  const NODES = "/api/v1/nodes";
  const status = (t: string, ready = "True") => ({ conditions: [{ type: "Ready", status: ready, reason: "KubeletReady", lastHeartbeatTime: t, lastTransitionTime: "2026-01-01T00:00:00Z" }] });
  await call("POST", NODES, { metadata: { name: "hb" }, status: status("2026-01-01T00:00:00Z") });
  const node = await call("GET", `${NODES}/hb`);
  await call("PUT", `${NODES}/hb/status`, { ...node, status: status("2026-01-01T00:05:00Z") });
  expect(await rowsOf("/registry/core/nodes/hb")).toBe(1);
  const again = await call("GET", `${NODES}/hb`);
  expect((again.status as { conditions: { lastHeartbeatTime: string }[] }).conditions[0]!.lastHeartbeatTime).toBe("2026-01-01T00:05:00Z");
  await call("PUT", `${NODES}/hb/status`, { ...again, status: status("2026-01-01T00:06:00Z", "False") });
  expect(await rowsOf("/registry/core/nodes/hb")).toBeGreaterThanOrEqual(2);
});
