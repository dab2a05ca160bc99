import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestApi, type TestApi } from "./testing";
import { clusterNetworkFromData } from "../../api/cluster-network";

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(() => t.stop());

const cm = (name: string, data: Record<string, string> = { a: "1" }, labels?: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, ...(labels && { labels }) },
  data,
});
const CMS = "/api/v1/namespaces/default/configmaps";

/** Reads a watch response until `count` events arrived, then cancels it. */
async function readEvents(res: Response, count: number, counts: (e: any) => boolean = () => true): Promise<any[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  const events: any[] = [];
  while (events.filter(counts).length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      events.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  }
  await reader.cancel();
  return events;
}

const watch = (path: string) =>
  t.raw(new Request(`https://bramble.test${path}`, { headers: { authorization: "Bearer test-token" } }));

describe("bootstrap and authentication", () => {
  test("system namespaces and the kubernetes Service exist on first start", async () => {
    const ns = await t.call("GET", "/api/v1/namespaces");
    expect(ns.body.items.map((n: any) => n.metadata.name).sort()).toEqual(["default", "kube-node-lease", "kube-public", "kube-system"]);
    expect(ns.body.items[0].status.phase).toBe("Active");
    const svc = await t.call("GET", "/api/v1/namespaces/default/services/kubernetes");
    expect(svc.body.spec.clusterIP).toBe("10.43.0.1");
    expect(svc.body.spec.ports[0].port).toBe(443);
  });

  test("the networking settings agents follow are published in kube-system", async () => {
    const cm = await t.call("GET", "/api/v1/namespaces/kube-system/configmaps/bramble-cluster-network");
    expect(cm.status).toBe(200);
    expect(clusterNetworkFromData(cm.body.data)).toEqual({
      clusterCidr: "10.42.0.0/16",
      serviceCidr: "10.43.0.0/16",
      clusterDns: "10.43.0.10",
      clusterDomain: "cluster.local",
      podNetwork: "host-gw",
      serviceProxy: true,
      clusterDnsServer: true,
      ingress: true,
      networkPolicy: true,
    });
  });

  test("requests without a valid token get a 401 Status; health checks do not need one", async () => {
    const res = await t.raw(new Request("https://bramble.test/api/v1/namespaces"));
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).reason).toBe("Unauthorized");
    const bad = await t.raw(new Request("https://bramble.test/api/v1/namespaces", { headers: { authorization: "Bearer nope" } }));
    expect(bad.status).toBe(401);
    for (const p of ["/healthz", "/readyz", "/livez"]) expect((await t.raw(new Request(`https://bramble.test${p}`))).status).toBe(200);
  });
});

describe("create, get, update", () => {
  test("create fills metadata and get returns the same object", async () => {
    const r = await t.call("POST", CMS, cm("one"));
    expect(r.status).toBe(201);
    expect(r.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(r.body.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(r.body.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const g = await t.call("GET", `${CMS}/one`);
    expect(g.body).toEqual(r.body);
  });

  test("a second create of the same name is 409 AlreadyExists", async () => {
    await t.call("POST", CMS, cm("dup"));
    const r = await t.call("POST", CMS, cm("dup"));
    expect(r.status).toBe(409);
    expect(r.body.reason).toBe("AlreadyExists");
    expect(r.body.message).toBe('configmaps "dup" already exists');
  });

  test("generateName makes a unique name", async () => {
    const r = await t.call("POST", CMS, { ...cm(""), metadata: { generateName: "gen-" } });
    expect(r.status).toBe(201);
    expect(r.body.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
  });

  test("update with a stale resourceVersion is 409 Conflict and changes nothing", async () => {
    const created = (await t.call("POST", CMS, cm("stale"))).body;
    const first = await t.call("PUT", `${CMS}/stale`, { ...created, data: { a: "2" } });
    expect(first.status).toBe(200);
    const second = await t.call("PUT", `${CMS}/stale`, { ...created, data: { a: "3" } });
    expect(second.status).toBe(409);
    expect(second.body.reason).toBe("Conflict");
    expect((await t.call("GET", `${CMS}/stale`)).body.data).toEqual({ a: "2" });
  });

  test("an update that changes nothing keeps the resourceVersion", async () => {
    const created = (await t.call("POST", CMS, cm("noop"))).body;
    const same = await t.call("PUT", `${CMS}/noop`, created);
    expect(same.body.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
  });

  test("uid and creationTimestamp cannot be changed by an update", async () => {
    const created = (await t.call("POST", CMS, cm("keep"))).body;
    const r = await t.call("PUT", `${CMS}/keep`, { ...created, metadata: { ...created.metadata, uid: "x", creationTimestamp: "2000-01-01T00:00:00Z" }, data: { b: "2" } });
    expect(r.body.metadata.uid).toBe(created.metadata.uid);
    expect(r.body.metadata.creationTimestamp).toBe(created.metadata.creationTimestamp);
  });
});

describe("bad input gets the right Status and writes nothing", () => {
  test("malformed JSON is 400", async () => {
    const r = await t.call("POST", CMS, "{not json");
    expect(r.status).toBe(400);
    expect(r.body.kind).toBe("Status");
  });

  test("malformed YAML is 400", async () => {
    const r = await t.call("POST", CMS, "a: [b", { "content-type": "application/yaml" });
    expect(r.status).toBe(400);
  });

  test("YAML bodies are accepted", async () => {
    const r = await t.call("POST", CMS, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n", { "content-type": "application/yaml" });
    expect(r.status).toBe(201);
    expect(r.body.data).toEqual({ k: "v" });
  });

  test("a wrong kind or apiVersion is 400", async () => {
    expect((await t.call("POST", CMS, { ...cm("k"), kind: "Secret" })).status).toBe(400);
    expect((await t.call("POST", CMS, { ...cm("k"), apiVersion: "apps/v1" })).status).toBe(400);
    expect((await t.call("GET", `${CMS}/k`)).status).toBe(404);
  });

  test("an invalid name is 422 Invalid with a field cause", async () => {
    const r = await t.call("POST", CMS, cm("Bad_Name"));
    expect(r.status).toBe(422);
    expect(r.body.reason).toBe("Invalid");
    expect(r.body.details.causes[0].field).toBe("metadata.name");
  });

  test("an invalid label is 422", async () => {
    const r = await t.call("POST", CMS, cm("labelled", {}, { "bad key!": "x" }));
    expect(r.status).toBe(422);
    expect(r.body.details.causes.some((c: any) => c.field.startsWith("metadata.labels"))).toBe(true);
  });

  test("a missing required field is 422 Required", async () => {
    const r = await t.call("POST", "/api/v1/namespaces/default/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "c" }] } });
    expect(r.status).toBe(422);
    expect(r.body.details.causes.some((c: any) => c.reason === "FieldValueRequired" && c.field.includes("image"))).toBe(true);
  });

  test("an unknown field is rejected under Strict and dropped with a warning under Warn", async () => {
    const strict = await t.call("POST", `${CMS}?fieldValidation=Strict`, { ...cm("strict"), bogus: 1 });
    expect(strict.status).toBe(400);
    expect(strict.body.message).toContain('unknown field "bogus"');
    const warn = await t.call("POST", `${CMS}?fieldValidation=Warn`, { ...cm("warn"), bogus: 1 });
    expect(warn.status).toBe(201);
    expect(warn.body.bogus).toBeUndefined();
    expect(warn.headers.get("warning")).toContain("bogus");
  });

  test("a body over 3 MiB is 413", async () => {
    const r = await t.call("POST", CMS, cm("big", { a: "x".repeat(3 * 1024 * 1024 + 10) }));
    expect(r.status).toBe(413);
  });

  test("an unknown resource or namespace is 404", async () => {
    expect((await t.call("GET", "/api/v1/widgets")).status).toBe(404);
    expect((await t.call("GET", "/apis/nope/v1/things")).status).toBe(404);
    const r = await t.call("POST", "/api/v1/namespaces/missing/configmaps", cm("x"));
    expect(r.status).toBe(404);
    expect(r.body.message).toBe('namespaces "missing" not found');
  });

  test("a patch that does not apply is a 4xx and changes nothing", async () => {
    await t.call("POST", CMS, cm("patchfail"));
    const r = await t.call("PATCH", `${CMS}/patchfail`, [{ op: "test", path: "/data/a", value: "nope" }], { "content-type": "application/json-patch+json" });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect((await t.call("GET", `${CMS}/patchfail`)).body.data).toEqual({ a: "1" });
  });
});

describe("patch", () => {
  test("merge, JSON and strategic patches", async () => {
    await t.call("POST", CMS, cm("patched"));
    const merge = await t.call("PATCH", `${CMS}/patched`, { data: { b: "2" } }, { "content-type": "application/merge-patch+json" });
    expect(merge.body.data).toEqual({ a: "1", b: "2" });
    const jsonPatch = await t.call("PATCH", `${CMS}/patched`, [{ op: "remove", path: "/data/a" }], { "content-type": "application/json-patch+json" });
    expect(jsonPatch.body.data).toEqual({ b: "2" });
    const smp = await t.call("PATCH", `${CMS}/patched`, { metadata: { labels: { x: "y" } } }, { "content-type": "application/strategic-merge-patch+json" });
    expect(smp.body.metadata.labels).toEqual({ x: "y" });
  });

  test("concurrent patches of one object without a resourceVersion all land (conflicts are retried on fresh state)", async () => {
    // On the libSQL store: its group commit acknowledges a write before the cache has it, which
    // is where a retry that re-read the cache at once kept seeing the same stale object.
    const dir = mkdtempSync(join(tmpdir(), "bramble-patch-"));
    const db = await startTestApi({ datastoreEndpoint: `file:${join(dir, "state.db")}` });
    try {
      await db.call("POST", CMS, cm("contended"));
      const n = 30;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => db.call("PATCH", `${CMS}/contended`, { data: { [`k${i}`]: String(i) } }, { "content-type": "application/merge-patch+json" })),
      );
      expect(results.map((r) => r.status)).toEqual(Array(n).fill(200));
      const data = (await db.call("GET", `${CMS}/contended`)).body.data;
      for (let i = 0; i < n; i++) expect(data[`k${i}`]).toBe(String(i));
    } finally {
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("list", () => {
  test("label selectors, field selectors and paging", async () => {
    for (let i = 0; i < 5; i++) await t.call("POST", "/api/v1/namespaces/kube-public/configmaps", cm(`page-${i}`, {}, { tier: i % 2 ? "odd" : "even" }));
    const even = await t.call("GET", "/api/v1/namespaces/kube-public/configmaps?labelSelector=tier%3Deven");
    expect(even.body.items.map((i: any) => i.metadata.name)).toEqual(["page-0", "page-2", "page-4"]);
    const named = await t.call("GET", "/api/v1/configmaps?fieldSelector=metadata.name%3Dpage-3");
    expect(named.body.items.map((i: any) => i.metadata.namespace)).toEqual(["kube-public"]);

    const seen: string[] = [];
    let cont = "";
    do {
      const page = await t.call("GET", `/api/v1/namespaces/kube-public/configmaps?limit=2${cont ? `&continue=${cont}` : ""}`);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((i: any) => i.metadata.name));
      cont = page.body.metadata.continue ?? "";
    } while (cont);
    expect(seen).toEqual(["page-0", "page-1", "page-2", "page-3", "page-4"]);
  });

  test("an unsupported field selector is 400", async () => {
    expect((await t.call("GET", "/api/v1/configmaps?fieldSelector=data.a%3D1")).status).toBe(400);
  });

  test("Table responses carry the resource's columns", async () => {
    const r = await t.call("GET", "/api/v1/namespaces", undefined, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
    expect(r.body.kind).toBe("Table");
    expect(r.body.columnDefinitions.map((c: any) => c.name)).toEqual(["Name", "Status", "Age"]);
    expect(r.body.rows.find((row: any) => row.cells[0] === "default").cells[1]).toBe("Active");
  });
});

describe("watch", () => {
  test("resumes from a resourceVersion and replays every later event in order", async () => {
    const start = (await t.call("GET", CMS)).body.metadata.resourceVersion;
    await t.call("POST", CMS, cm("w1"));
    const w1 = (await t.call("PATCH", `${CMS}/w1`, { data: { a: "2" } }, { "content-type": "application/merge-patch+json" })).body;
    await t.call("DELETE", `${CMS}/w1`);
    const events = await readEvents(await watch(`${CMS}?watch=1&resourceVersion=${start}`), 3);
    expect(events.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    expect(events[1].object.metadata.resourceVersion).toBe(w1.metadata.resourceVersion);
    const rvs = events.map((e) => Number(e.object.metadata.resourceVersion));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
  });

  test("without a resourceVersion, current objects arrive as ADDED first", async () => {
    await t.call("POST", "/api/v1/namespaces/kube-node-lease/configmaps", cm("existing"));
    const res = await watch("/api/v1/namespaces/kube-node-lease/configmaps?watch=true");
    const pending = readEvents(res, 2);
    await Bun.sleep(20);
    await t.call("POST", "/api/v1/namespaces/kube-node-lease/configmaps", cm("later"));
    const events = await pending;
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([["ADDED", "existing"], ["ADDED", "later"]]);
  });

  test("a label-filtered watch sees objects leave and enter the selection", async () => {
    const start = (await t.call("GET", CMS)).body.metadata.resourceVersion;
    await t.call("POST", CMS, cm("sel", {}, { app: "x" }));
    await t.call("PATCH", `${CMS}/sel`, { metadata: { labels: { app: "y" } } }, { "content-type": "application/merge-patch+json" });
    await t.call("PATCH", `${CMS}/sel`, { metadata: { labels: { app: "x" } } }, { "content-type": "application/merge-patch+json" });
    const events = await readEvents(await watch(`${CMS}?watch=1&labelSelector=app%3Dx&resourceVersion=${start}`), 3);
    expect(events.map((e) => e.type)).toEqual(["ADDED", "DELETED", "ADDED"]);
  });

  test("bookmarks are sent when asked for", async () => {
    const start = (await t.call("GET", CMS)).body.metadata.resourceVersion;
    const res = await watch(`${CMS}?watch=1&resourceVersion=${start}&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`);
    const events = await readEvents(res, 1, (e) => e.type === "BOOKMARK");
    const bookmark = events.find((e) => e.type === "BOOKMARK");
    expect(bookmark.object.metadata.annotations["k8s.io/initial-events-end"]).toBe("true");
  });
});

describe("services", () => {
  const SVC = "/api/v1/namespaces/default/services";
  const svc = (name: string, spec: Record<string, unknown> = {}) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec },
  });

  test("ClusterIPs come from the service range without collisions and NodePorts from 30000-32767", async () => {
    const a = (await t.call("POST", SVC, svc("svc-a"))).body;
    const b = (await t.call("POST", SVC, svc("svc-b", { type: "NodePort" }))).body;
    expect(a.spec.clusterIP).toMatch(/^10\.43\./);
    expect(a.spec.clusterIP).not.toBe(b.spec.clusterIP);
    expect(a.spec.clusterIP).not.toBe("10.43.0.1");
    expect(b.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);
    expect(b.spec.ports[0].nodePort).toBeLessThanOrEqual(32767);
    expect(b.spec.ports[0].targetPort).toBe(80);
  });

  test("a taken NodePort or ClusterIP is 422, and released ones can be reused", async () => {
    const first = await t.call("POST", SVC, svc("np-1", { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] }));
    expect(first.status).toBe(201);
    const clash = await t.call("POST", SVC, svc("np-2", { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] }));
    expect(clash.status).toBe(422);
    expect((await t.call("GET", `${SVC}/np-2`)).status).toBe(404);
    const ipClash = await t.call("POST", SVC, svc("ip-2", { clusterIP: first.body.spec.clusterIP }));
    expect(ipClash.status).toBe(422);
    await t.call("DELETE", `${SVC}/np-1`);
    const again = await t.call("POST", SVC, svc("np-3", { type: "NodePort", clusterIP: first.body.spec.clusterIP, ports: [{ port: 80, nodePort: 30080 }] }));
    expect(again.status).toBe(201);
  });

  test("a dry-run create allocates nothing and stores nothing", async () => {
    const dry = await t.call("POST", `${SVC}?dryRun=All`, svc("dry", { type: "NodePort", ports: [{ port: 80, nodePort: 30090 }] }));
    expect(dry.status).toBe(201);
    expect((await t.call("GET", `${SVC}/dry`)).status).toBe(404);
    const real = await t.call("POST", SVC, svc("wet", { type: "NodePort", ports: [{ port: 80, nodePort: 30090 }] }));
    expect(real.status).toBe(201);
  });

  test("clusterIP is immutable", async () => {
    const s = (await t.call("POST", SVC, svc("immut"))).body;
    const r = await t.call("PUT", `${SVC}/immut`, { ...s, spec: { ...s.spec, clusterIP: "10.43.200.200", clusterIPs: ["10.43.200.200"] } });
    expect(r.status).toBe(422);
  });
});

describe("deployments: status, scale, generation", () => {
  const DEPLOY = "/apis/apps/v1/namespaces/default/deployments";
  const deployment = (name: string) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "web", image: "busybox:1.36" }] } },
    },
  });

  test("defaults match upstream", async () => {
    const d = (await t.call("POST", DEPLOY, deployment("defaults"))).body;
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.revisionHistoryLimit).toBe(10);
    expect(d.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } });
    expect(d.spec.template.spec.restartPolicy).toBe("Always");
    expect(d.spec.template.spec.containers[0].imagePullPolicy).toBe("IfNotPresent");
    expect(d.metadata.generation).toBe(1);
  });

  test("scale subresource reads and writes replicas; spec changes bump generation", async () => {
    await t.call("POST", DEPLOY, deployment("scaled"));
    const scale = await t.call("GET", `${DEPLOY}/scaled/scale`);
    expect(scale.body).toMatchObject({ kind: "Scale", spec: { replicas: 1 }, status: { selector: "app=scaled" } });
    const patched = await t.call("PATCH", `${DEPLOY}/scaled/scale`, { spec: { replicas: 4 } }, { "content-type": "application/merge-patch+json" });
    expect(patched.body.spec.replicas).toBe(4);
    const d = (await t.call("GET", `${DEPLOY}/scaled`)).body;
    expect(d.spec.replicas).toBe(4);
    expect(d.metadata.generation).toBe(2);
    const bad = await t.call("PATCH", `${DEPLOY}/scaled/scale`, { spec: { replicas: -1 } }, { "content-type": "application/merge-patch+json" });
    expect(bad.status).toBe(422);
  });

  test("the status subresource writes status only; the main resource ignores status", async () => {
    const d = (await t.call("POST", DEPLOY, deployment("stat"))).body;
    const s = await t.call("PUT", `${DEPLOY}/stat/status`, { ...d, spec: { ...d.spec, replicas: 9 }, status: { replicas: 1, readyReplicas: 1 } });
    expect(s.body.status.readyReplicas).toBe(1);
    expect(s.body.spec.replicas).toBe(1);
    const m = await t.call("PUT", `${DEPLOY}/stat`, { ...s.body, status: { replicas: 7 } });
    expect(m.body.status.replicas).toBe(1);
  });
});

describe("deletion", () => {
  const owned = (name: string, owner: any) => ({ ...cm(name), metadata: { name, ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: owner.metadata.name, uid: owner.metadata.uid }] } });

  // The cascade itself is the garbage collector's (src/server/controllers/gc); the API server
  // records the policy as upstream does and leaves dependents alone.
  test("Foreground and Orphan mark the owner with their finalizer; Background deletes it at once", async () => {
    for (const [policy, finalizer] of [["Foreground", "foregroundDeletion"], ["Orphan", "orphan"], ["Background", undefined]] as const) {
      const owner = (await t.call("POST", CMS, cm(`owner-${policy.toLowerCase()}`))).body;
      await t.call("POST", CMS, owned(`dep-${policy.toLowerCase()}`, owner));
      const r = await t.call("DELETE", `${CMS}/${owner.metadata.name}`, { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: policy });
      expect(r.status).toBe(200);
      const after = await t.call("GET", `${CMS}/${owner.metadata.name}`);
      if (finalizer) {
        expect(after.body.metadata.finalizers).toEqual([finalizer]);
        expect(after.body.metadata.deletionTimestamp).toBeDefined();
      } else expect(after.status).toBe(404);
      const dep = await t.call("GET", `${CMS}/dep-${policy.toLowerCase()}`);
      expect(dep.body.metadata.ownerReferences[0].uid).toBe(owner.metadata.uid);
    }
  });

  test("a finalizer holds an object until it is removed", async () => {
    await t.call("POST", CMS, { ...cm("held"), metadata: { name: "held", finalizers: ["example.com/hold"] } });
    const del = await t.call("DELETE", `${CMS}/held`);
    expect(del.body.metadata.deletionTimestamp).toBeDefined();
    expect((await t.call("GET", `${CMS}/held`)).status).toBe(200);
    await t.call("PATCH", `${CMS}/held`, { metadata: { finalizers: null } }, { "content-type": "application/merge-patch+json" });
    expect((await t.call("GET", `${CMS}/held`)).status).toBe(404);
  });

  // Draining is the namespace controller's (src/server/controllers/namespace).
  test("deleting a namespace marks it Terminating and refuses new content in it", async () => {
    await t.call("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "doomed" } });
    await t.call("POST", "/api/v1/namespaces/doomed/configmaps", cm("c0"));
    const del = await t.call("DELETE", "/api/v1/namespaces/doomed");
    expect(del.body.status.phase).toBe("Terminating");
    expect(del.body.metadata.deletionTimestamp).toBeDefined();
    const refused = await t.call("POST", "/api/v1/namespaces/doomed/configmaps", cm("late"));
    expect(refused.status).toBe(403);
    expect((await t.call("GET", "/api/v1/namespaces/doomed/configmaps")).body.items.length).toBe(1);
  });

  test("system namespaces cannot be deleted", async () => {
    expect((await t.call("DELETE", "/api/v1/namespaces/default")).status).toBe(403);
  });

  test("a pod on a node is deleted gracefully; an unscheduled pod at once", async () => {
    const PODS = "/api/v1/namespaces/default/pods";
    const pod = (name: string, nodeName?: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { ...(nodeName && { nodeName }), containers: [{ name: "c", image: "busybox" }] } });
    await t.call("POST", PODS, pod("loose"));
    await t.call("DELETE", `${PODS}/loose`);
    expect((await t.call("GET", `${PODS}/loose`)).status).toBe(404);
    await t.call("POST", PODS, pod("bound", "node-1"));
    const del = await t.call("DELETE", `${PODS}/bound`);
    expect(del.body.metadata.deletionGracePeriodSeconds).toBe(30);
    expect((await t.call("GET", `${PODS}/bound`)).status).toBe(200);
    await t.call("DELETE", `${PODS}/bound?gracePeriodSeconds=0`);
    expect((await t.call("GET", `${PODS}/bound`)).status).toBe(404);
  });

  test("binding sets the node once", async () => {
    const PODS = "/api/v1/namespaces/default/pods";
    await t.call("POST", PODS, { apiVersion: "v1", kind: "Pod", metadata: { name: "tobind" }, spec: { containers: [{ name: "c", image: "busybox" }] } });
    const b = await t.call("POST", `${PODS}/tobind/binding`, { apiVersion: "v1", kind: "Binding", metadata: { name: "tobind" }, target: { kind: "Node", name: "n1" } });
    expect(b.status).toBe(201);
    const p = (await t.call("GET", `${PODS}/tobind`)).body;
    expect(p.spec.nodeName).toBe("n1");
    expect(p.status.conditions.find((c: any) => c.type === "PodScheduled").status).toBe("True");
    const again = await t.call("POST", `${PODS}/tobind/binding`, { apiVersion: "v1", kind: "Binding", metadata: { name: "tobind" }, target: { kind: "Node", name: "n2" } });
    expect(again.status).toBe(409);
  });
});

describe("watch from before the cache's window", () => {
  test("is served from the store's history while it is retained, and is 410 Gone once compacted", async () => {
    const { openStore } = await import("../store");
    const { createApiServer } = await import(".");
    const { testConfig } = await import("./testing");
    const store = await openStore("memory:");
    const auth = () => ({ user: "admin", groups: [] });
    const first = await createApiServer({ store, config: testConfig(), authenticate: auth });
    const objects = first.context.objects;
    const cms = first.context.resource("", "configmaps");
    const start = first.context.cache.revision;
    await objects.create(cms, "default", { metadata: { name: "before-restart" }, data: { a: "1" } });
    await first.stop();

    // A new API server (as after a restart) has a cache window that begins now.
    const second = await createApiServer({ store, config: testConfig(), authenticate: auth });
    const res = await second.fetch(new Request(`https://x${CMS}?watch=1&resourceVersion=${start}`));
    const events = await readEvents(res, 1);
    expect(events[0].type).toBe("ADDED");
    expect(events[0].object.metadata.name).toBe("before-restart");

    await store.compact(await store.currentRevision());
    const gone = await readEvents(await second.fetch(new Request(`https://x${CMS}?watch=1&resourceVersion=${start}`)), 1);
    expect(gone[0].type).toBe("ERROR");
    expect(gone[0].object.code).toBe(410);
    await second.stop();
    await store.close();
  });
});

describe("updates during graceful deletion", () => {
  test("a status write to a pod in its grace period keeps the pod", async () => {
    const PODS = "/api/v1/namespaces/default/pods";
    await t.call("POST", PODS, { apiVersion: "v1", kind: "Pod", metadata: { name: "graceful" }, spec: { nodeName: "n1", containers: [{ name: "c", image: "busybox" }] } });
    const del = await t.call("DELETE", `${PODS}/graceful`);
    expect(del.body.metadata.deletionGracePeriodSeconds).toBe(30);
    const st = await t.call("PATCH", `${PODS}/graceful/status`, { status: { phase: "Running" } }, { "content-type": "application/merge-patch+json" });
    expect(st.status).toBe(200);
    expect((await t.call("GET", `${PODS}/graceful`)).status).toBe(200);
  });
});

describe("node pod CIDRs", () => {
  const NODES = "/api/v1/nodes";
  const node = (name: string, spec: Record<string, unknown> = {}) => ({ apiVersion: "v1", kind: "Node", metadata: { name }, spec });

  test("each node gets its own /24 of the cluster CIDR, which it keeps, released on delete", async () => {
    const a = (await t.call("POST", NODES, node("cidr-a"))).body;
    const b = (await t.call("POST", NODES, node("cidr-b"))).body;
    expect(a.spec.podCIDR).toMatch(/^10\.42\.\d+\.0\/24$/);
    expect(a.spec.podCIDRs).toEqual([a.spec.podCIDR]);
    expect(b.spec.podCIDR).not.toBe(a.spec.podCIDR);
    expect((await t.call("PUT", `${NODES}/cidr-a`, { ...a, spec: {} })).status).toBe(422);
    const relabelled = await t.call("PUT", `${NODES}/cidr-a`, { ...a, metadata: { ...a.metadata, labels: { x: "y" } } });
    expect(relabelled.body.spec.podCIDR).toBe(a.spec.podCIDR);
    const taken = await t.call("POST", NODES, node("cidr-c", { podCIDR: b.spec.podCIDR }));
    expect(taken.body.spec.podCIDR).not.toBe(b.spec.podCIDR);
    await t.call("DELETE", `${NODES}/cidr-b`);
    const reuse = await t.call("POST", NODES, node("cidr-d", { podCIDR: b.spec.podCIDR }));
    expect(reuse.body.spec.podCIDR).toBe(b.spec.podCIDR);
  });
});
