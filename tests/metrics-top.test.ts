// `kubectl top` for real: a `bramble server` process whose embedded agent runs pods on the Docker
// engine and reads their cgroups; the API server serves metrics.k8s.io from it. A pod burning a
// core shows up with hundreds of millicores, a sleeping one with next to none, and the node is
// listed. Needs dockerd (CI starts one; locally this skips without it).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { eventually as poll } from "./helpers/eventually";
import { removePodsOf, shContainer, startServerWithNode } from "./helpers/pods";
import { parseJson, type TestServer } from "./helpers/server";

const docker = await dockerForTests("kubectl top tests");
setDefaultTimeout(60_000);
const NS = `top-${Date.now().toString(36)}`;
let s: TestServer;

const eventually = <T>(what: string, f: () => Promise<T | undefined | false>) => poll(what, f, { timeoutMs: 45_000, intervalMs: 500, context: () => s?.log.slice(-3000) ?? "" });

/** kubectl top's table as rows of columns (header dropped). */
const rows = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/));
const millicores = (v: string) => (v.endsWith("m") ? Number(v.slice(0, -1)) : Number(v) * 1000);

describe.skipIf(!docker)("kubectl top through metrics.k8s.io", () => {
  beforeAll(async () => {
    s = await startServerWithNode(docker!);
    expect((await s.kubectl("create", "namespace", NS)).code).toBe(0);
    const pod = (name: string, script: string, labels: Record<string, string>) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, labels }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "main", ...shContainer(`trap 'exit 0' TERM; ${script}`) }] } });
    for (const p of [pod("burn", "while :; do :; done", { load: "busy" }), pod("idle", "sleep 100000 & wait", { load: "idle" })]) {
      const r = await s.kubectlWith({ stdin: JSON.stringify(p) }, "-n", NS, "create", "-f", "-");
      expect(r.stderr).toBe("");
    }
    await eventually("both pods running", async () => parseJson(await s.kubectl("-n", NS, "get", "pods", "-o", "json")).items.every((p: any) => p.status?.phase === "Running"));
  }, 90_000);

  afterAll(async () => {
    await s?.cleanup();
    if (docker) await removePodsOf(docker, NS);
  });

  test("discovery lists metrics.k8s.io with nodes and pods, get and list only", async () => {
    const list = parseJson(await s.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1"));
    expect(list.resources.map((r: any) => [r.name, r.kind, r.namespaced, r.verbs])).toEqual([
      ["nodes", "NodeMetrics", false, ["get", "list"]],
      ["pods", "PodMetrics", true, ["get", "list"]],
    ]);
  });

  test("kubectl top pods: the busy pod uses hundreds of millicores, the idle one next to none", async () => {
    // A new container has no rate before its second reading, and the first window may catch the
    // loop still starting (or a busy machine): wait for a reading of the loop at work.
    const table = (r: { stdout: string }) => Object.fromEntries(rows(r.stdout).map(([name, cpu, mem]) => [name!, { cpu: millicores(cpu!), mem: mem! }]));
    const byName = await eventually("the busy pod above 200m in kubectl top", async () => {
      const r = await s.kubectl("-n", NS, "top", "pods");
      const t = table(r);
      return r.code === 0 && t.burn && t.idle && t.burn.cpu > 200 && t;
    });
    expect(byName.idle!.cpu).toBeLessThan(50);
    expect(byName.idle!.mem).toMatch(/^\d+Mi$/);
  });

  test("--containers, -l and a single pod", async () => {
    const r = await s.kubectl("-n", NS, "top", "pods", "--containers", "-l", "load=idle");
    expect(r.stderr).toBe("");
    expect(rows(r.stdout).map((c) => c.slice(0, 2))).toEqual([["idle", "main"]]);
    const one = await s.kubectl("-n", NS, "top", "pod", "burn");
    expect(rows(one.stdout).map((c) => c[0])).toEqual(["burn"]);
    const missing = await s.kubectl("-n", NS, "top", "pod", "nope");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('pod "nope" not found');
    const all = await s.kubectl("top", "pods", "-A");
    expect(rows(all.stdout).filter((c) => c[0] === NS).map((c) => c[1]).sort()).toEqual(["burn", "idle"]);
  });

  test("kubectl get pods.metrics.k8s.io prints metrics-server's columns", async () => {
    const r = await s.kubectl("-n", NS, "get", "pods.metrics.k8s.io", "idle");
    expect(r.stderr).toBe("");
    const [header, row] = r.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/));
    expect(header).toEqual(["NAME", "CPU", "MEMORY", "WINDOW"]);
    expect(row![0]).toBe("idle");
  });

  test("kubectl top nodes shows the node with its CPU and memory", async () => {
    const node = parseJson(await s.kubectl("get", "nodes", "-o", "json")).items[0].metadata.name;
    const r = await s.kubectl("top", "nodes");
    expect(r.stderr).toBe("");
    const [row] = rows(r.stdout);
    expect(row![0]).toBe(node);
    // NAME CPU(cores) CPU% MEMORY(bytes) MEMORY%: the busy pod alone keeps a core busy.
    expect(millicores(row![1]!)).toBeGreaterThan(200);
    expect(row![3]).toMatch(/^\d+Mi$/);
  });
});
