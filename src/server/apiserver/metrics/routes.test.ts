// metrics.k8s.io through the API server, with the agents' summaries scripted.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { StatsSummary } from "../../../api/kubelet-api";
import { forbidden } from "../../../api/errors";
import { startTestApi, type TestApi } from "../testing";

let t: TestApi;
const asked: string[] = [];
const T = "2026-01-01T00:00:00Z";
const stats = (nanoCores: number | undefined, workingSetBytes: number) => ({ cpu: { time: T, usageNanoCores: nanoCores, usageCoreNanoSeconds: 1 }, memory: { time: T, workingSetBytes } });

const summaries: Record<string, StatsSummary> = {
  n1: {
    node: { nodeName: "n1", ...stats(1_500_000_000, 2 * 2 ** 30) },
    pods: [
      { podRef: { name: "web", namespace: "default", uid: "" }, startTime: T, containers: [{ name: "app", startTime: T, ...stats(250_000_000, 64 << 20) }, { name: "log", startTime: T, ...stats(1_000_000, 1 << 20) }] },
      { podRef: { name: "new", namespace: "default", uid: "" }, startTime: T, containers: [{ name: "app", startTime: T, ...stats(undefined, 1 << 20) }] },
      { podRef: { name: "db", namespace: "data", uid: "" }, startTime: T, containers: [{ name: "pg", startTime: T, ...stats(5_000_000, 100 << 20) }] },
    ],
  },
};

beforeAll(async () => {
  t = await startTestApi(
    {},
    {
      metricsSummaries: async (node) => {
        asked.push(node.metadata.name!);
        const s = summaries[node.metadata.name!];
        if (!s) throw new Error("unreachable");
        return s;
      },
      // Refuses one namespace, to show the request reaches the authorizer as metrics.k8s.io pods.
      authorize: async (_user, _req, _url, r) => {
        if (r.def.group === "metrics.k8s.io" && r.namespace === "secret") throw forbidden(`cannot list resource "${r.def.plural}" in API group "${r.def.group}"`);
      },
    },
  );
  for (const name of ["n1", "n2"]) {
    expect((await t.call("POST", "/api/v1/nodes", { metadata: { name, labels: { zone: name === "n1" ? "a" : "b" } } })).status).toBe(201);
    expect((await t.call("PATCH", `/api/v1/nodes/${name}/status`, { status: { daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } } }, { "content-type": "application/merge-patch+json" })).status).toBe(200);
  }
  // A simulated node: no agent endpoint, never asked.
  expect((await t.call("POST", "/api/v1/nodes", { metadata: { name: "sim" } })).status).toBe(201);
  await t.call("POST", "/api/v1/namespaces", { metadata: { name: "data" } });
  const pod = async (namespace: string, name: string, labels: Record<string, string>, nodeName?: string) => {
    const r = await t.call("POST", `/api/v1/namespaces/${namespace}/pods`, { metadata: { name, labels }, spec: { nodeName, containers: [{ name: "c", image: "busybox" }] } });
    expect(r.status).toBe(201);
    if (nodeName) expect((await t.call("PATCH", `/api/v1/namespaces/${namespace}/pods/${name}/status`, { status: { phase: "Running" } }, { "content-type": "application/merge-patch+json" })).status).toBe(200);
    for (const p of summaries.n1!.pods) if (p.podRef.name === name && p.podRef.namespace === namespace) p.podRef.uid = r.body.metadata.uid;
  };
  await pod("default", "web", { app: "web" }, "n1");
  await pod("default", "new", { app: "new" }, "n1");
  await pod("data", "db", { app: "db" }, "n1");
  await pod("default", "pending", { app: "web" });
});

afterAll(() => t?.stop());

test("discovery: the group, its version, and nodes and pods with get and list", async () => {
  const groups = (await t.call("GET", "/apis")).body.groups.map((g: any) => g.name);
  expect(groups).toContain("metrics.k8s.io");
  expect((await t.call("GET", "/apis/metrics.k8s.io")).body.preferredVersion).toEqual({ groupVersion: "metrics.k8s.io/v1beta1", version: "v1beta1" });
  const list = (await t.call("GET", "/apis/metrics.k8s.io/v1beta1")).body;
  expect(list.resources).toEqual([
    { name: "nodes", singularName: "", namespaced: false, kind: "NodeMetrics", verbs: ["get", "list"] },
    { name: "pods", singularName: "", namespaced: true, kind: "PodMetrics", verbs: ["get", "list"] },
  ]);
});

test("NodeMetrics: nodes whose agent answers, CPU in nanocores and the working set in Ki; a label selector", async () => {
  const list = (await t.call("GET", "/apis/metrics.k8s.io/v1beta1/nodes")).body;
  expect(list.kind).toBe("NodeMetricsList");
  expect(list.items).toHaveLength(1);
  const [n] = list.items;
  expect(n).toMatchObject({ kind: "NodeMetrics", apiVersion: "metrics.k8s.io/v1beta1", metadata: { name: "n1", labels: { zone: "a" } }, timestamp: T, window: "15s", usage: { cpu: "1500000000n", memory: `${2 * 1024 * 1024}Ki` } });
  expect((await t.call("GET", "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=zone%3Db")).body.items).toEqual([]);
  expect((await t.call("GET", "/apis/metrics.k8s.io/v1beta1/nodes/n1")).body.usage.cpu).toBe("1500000000n");
  const missing = await t.call("GET", "/apis/metrics.k8s.io/v1beta1/nodes/n2");
  expect(missing.status).toBe(404);
  expect(missing.body.message).toBe('nodemetrics.metrics.k8s.io "n2" not found');
  const absent = await t.call("GET", "/apis/metrics.k8s.io/v1beta1/nodes/absent");
  expect([absent.status, absent.body.message]).toEqual([404, 'node "absent" not found']);
});

test("PodMetrics: per namespace or all, with containers; pods without a rate yet or not on a node are left out", async () => {
  const all = (await t.call("GET", "/apis/metrics.k8s.io/v1beta1/pods")).body;
  expect(all.kind).toBe("PodMetricsList");
  expect(all.items.map((p: any) => `${p.metadata.namespace}/${p.metadata.name}`).sort()).toEqual(["data/db", "default/web"]);
  const ns = (await t.call("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods")).body.items;
  expect(ns).toHaveLength(1);
  expect(ns[0]).toMatchObject({
    kind: "PodMetrics",
    metadata: { name: "web", namespace: "default", labels: { app: "web" } },
    window: "15s",
    containers: [
      { name: "app", usage: { cpu: "250000000n", memory: "65536Ki" } },
      { name: "log", usage: { cpu: "1000000n", memory: "1024Ki" } },
    ],
  });
  expect((await t.call("GET", "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%3Ddb")).body.items.map((p: any) => p.metadata.name)).toEqual(["db"]);
  expect((await t.call("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/data/pods/db")).body.containers[0].name).toBe("pg");
  for (const name of ["new", "pending"]) {
    const r = await t.call("GET", `/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/${name}`);
    expect(r.status).toBe(404);
    expect(r.body.message).toBe(`podmetrics.metrics.k8s.io "default/${name}" not found`);
  }
  const absent = await t.call("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/absent");
  expect([absent.status, absent.body.message]).toEqual([404, 'pod "absent" not found']);
});

test("kubectl get asks for a Table: name, cpu and memory in canonical form (a pod's containers summed), window", async () => {
  const accept = { accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" };
  const nodes = (await t.call("GET", "/apis/metrics.k8s.io/v1beta1/nodes", undefined, accept)).body;
  expect(nodes.kind).toBe("Table");
  expect(nodes.columnDefinitions.map((c: any) => c.name)).toEqual(["Name", "cpu", "memory", "Window"]);
  expect(nodes.rows.map((r: any) => r.cells)).toEqual([["n1", "1500m", "2Gi", "15s"]]);
  const pod = (await t.call("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web", undefined, accept)).body;
  expect(pod.rows.map((r: any) => r.cells)).toEqual([["web", "251m", "65Mi", "15s"]]);
});

test("the summaries are cached briefly: one fetch per node for several requests", async () => {
  asked.length = 0;
  await t.call("GET", "/apis/metrics.k8s.io/v1beta1/nodes/n1");
  await t.call("GET", "/apis/metrics.k8s.io/v1beta1/pods");
  expect(asked.filter((n) => n === "n1").length).toBeLessThanOrEqual(1);
});

test("a node that stopped reporting (Ready Unknown) is not asked: its agent would only time out", async () => {
  expect((await t.call("POST", "/api/v1/nodes", { metadata: { name: "gone" } })).status).toBe(201);
  const unknown = { status: { daemonEndpoints: { kubeletEndpoint: { Port: 10250 } }, conditions: [{ type: "Ready", status: "Unknown", reason: "NodeStatusUnknown" }] } };
  expect((await t.call("PATCH", "/api/v1/nodes/gone/status", unknown, { "content-type": "application/merge-patch+json" })).status).toBe(200);
  asked.length = 0;
  expect((await t.call("GET", "/apis/metrics.k8s.io/v1beta1/nodes")).body.items.map((n: any) => n.metadata.name)).toEqual(["n1"]);
  expect((await t.call("GET", "/apis/metrics.k8s.io/v1beta1/nodes/gone")).body.message).toBe('nodemetrics.metrics.k8s.io "gone" not found');
  expect(asked).not.toContain("gone");
  expect(asked).not.toContain("sim");
  await t.call("DELETE", "/api/v1/nodes/gone");
});

test("bad requests: other verbs, watch, unknown paths, bad selectors; the authorizer is asked", async () => {
  expect((await t.call("POST", "/apis/metrics.k8s.io/v1beta1/nodes", {})).status).toBe(405);
  expect((await t.call("DELETE", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web")).status).toBe(405);
  expect((await t.call("GET", "/apis/metrics.k8s.io/v1beta1/pods?watch=true")).status).toBe(405);
  expect((await t.call("GET", "/apis/metrics.k8s.io/v1beta1/services")).status).toBe(404);
  expect((await t.call("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web/log")).status).toBe(404);
  const bad = await t.call("GET", "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=a%20in%20(");
  expect(bad.status).toBe(400);
  expect((await t.call("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/secret/pods")).status).toBe(403);
});
