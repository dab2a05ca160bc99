// `kubectl drain` against a PodDisruptionBudget, on simulated nodes: the drain's evictions get
// 429 while the budget allows no disruption, the drain keeps retrying, and it finishes once the
// evicted pod's replacement is ready on another node. Also `kubectl get pdb` and the budget's status.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { eventually as poll } from "./helpers/eventually";
import { startSimNodes, type SimNodes } from "./helpers/sim";
import { startTestServer, type TestServer } from "./helpers/server";

let server: TestServer;
let sim: SimNodes | undefined;

const until = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 20_000) => poll(what, f, { timeoutMs, intervalMs: 100, context: () => server.log.slice(-4000) });
const kubectl = async (...args: string[]) => {
  const r = await server.kubectl(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

beforeAll(async () => {
  server = await startTestServer({ args: ["--disable-agent"] });
  sim = startSimNodes(server, 2);
}, 60_000);

afterAll(async () => {
  await sim?.kill();
  await server?.cleanup();
});

const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: web}
`;

test("a drain waits on the budget (429, retried) and finishes once the evicted pod's replacement is ready elsewhere", async () => {
  const kinds = (await kubectl("api-resources", "--no-headers")).split("\n").map((l) => l.trim().split(/\s+/));
  expect(kinds).toContainEqual(["poddisruptionbudgets", "pdb", "policy/v1", "true", "PodDisruptionBudget"]);
  await until("2 nodes", async () => (await kubectl("get", "nodes", "-o", "name")).trim().split("\n").length === 2);
  // Both replicas on sim-0: sim-1 takes nothing for now.
  await kubectl("cordon", "sim-1");
  const applied = await server.kubectlWith({ stdin: manifest }, "apply", "-f", "-");
  expect(applied.code).toBe(0);
  await until("both pods ready on sim-0", async () => {
    const out = await kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={range .items[*]}{.spec.nodeName} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}");
    const rows = out.trim().split("\n").filter(Boolean);
    return rows.length === 2 && rows.every((r) => r === "sim-0 True");
  });
  const row = await until("the budget's status", async () => {
    const out = (await kubectl("get", "pdb", "web", "--no-headers")).trim().split(/\s+/);
    return out[3] === "1" ? out : undefined;
  });
  expect(row.slice(0, 4)).toEqual(["web", "1", "N/A", "1"]);
  const status = JSON.parse(await kubectl("get", "pdb", "web", "-o", "jsonpath={.status}"));
  expect(status).toMatchObject({ currentHealthy: 2, desiredHealthy: 1, expectedPods: 2, disruptionsAllowed: 1, observedGeneration: 1 });

  // The first eviction takes the one disruption; its replacement cannot be scheduled (sim-0 is
  // being drained, sim-1 is cordoned), so the second eviction is refused and retried.
  const drain = server.spawnKubectl("drain", "sim-0", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s");
  await drain.waitFor(() => drain.stderr().includes("Cannot evict pod as it would violate the pod's disruption budget."), 20_000);
  expect(drain.stderr()).toContain("(will retry after 5s)");
  expect(drain.proc.exitCode).toBeNull();
  expect((await kubectl("get", "pdb", "web", "-o", "jsonpath={.status.disruptionsAllowed}")).trim()).toBe("0");

  await kubectl("uncordon", "sim-1");
  const code = await Promise.race([drain.proc.exited, Bun.sleep(40_000).then(() => "timeout")]);
  expect({ code, out: drain.output() }).toMatchObject({ code: 0 });
  expect(drain.output()).toContain("node/sim-0 drained");
  const nodes = await kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.nodeName}");
  expect(nodes.trim().split(" ")).toEqual(["sim-1", "sim-1"]);
}, 90_000);
