// The real kubectl against a real `bramble server` with two simulated nodes: a DaemonSet's
// revision history (`kubectl rollout history`, `--revision`, `rollout undo` to the previous and
// to a given revision, `rollout status`), the ControllerRevisions behind it, and
// ReplicationControllers (`kubectl scale rc`, `kubectl get rc`).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { startSimNodes, type SimNodes } from "./helpers/sim";
import { startTestServer, type TestServer } from "./helpers/server";
import { eventually as poll } from "./helpers/eventually";

let server: TestServer;
let sim: SimNodes | undefined;

const until = <T>(what: string, f: () => Promise<T | undefined | false>) => poll(what, f, { timeoutMs: 20_000, intervalMs: 100, context: () => `sim log:\n${(sim?.log() ?? "").slice(-2000)}` });

const kubectl = async (...args: string[]) => {
  const r = await server.kubectl(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

beforeAll(async () => {
  server = await startTestServer({ args: ["--disable-agent"] });
  sim = startSimNodes(server, 2);
  await until("2 Ready nodes", async () => (await kubectl("get", "nodes", "--no-headers")).split("\n").filter((l) => /\sReady\s/.test(l)).length === 2);
}, 60_000);

afterAll(async () => {
  await sim?.kill();
  await server?.cleanup();
});

const daemonSet = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  annotations:
    kubernetes.io/change-cause: first
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: agent
        image: agent:1
`;

const image = () => kubectl("get", "ds", "agent", "-o", "jsonpath={.spec.template.spec.containers[0].image}");
const rolledOut = () => kubectl("rollout", "status", "ds/agent", "--timeout=20s");
/** `rollout history` rows as [revision, change-cause]. */
const history = async () =>
  (await kubectl("rollout", "history", "ds/agent"))
    .split("\n")
    .slice(2)
    .filter(Boolean)
    .map((l) => l.trim().split(/\s{2,}/));

test("DaemonSet: rollout status, history, history --revision, undo and undo --to-revision", async () => {
  expect((await server.kubectlWith({ stdin: daemonSet }, "apply", "-f", "-")).code).toBe(0);
  expect(await rolledOut()).toContain('daemon set "agent" successfully rolled out');

  await kubectl("annotate", "ds/agent", "--overwrite", "kubernetes.io/change-cause=second");
  await kubectl("set", "image", "ds/agent", "agent=agent:2");
  expect(await rolledOut()).toContain("successfully rolled out");
  const pods = JSON.parse(await kubectl("get", "pods", "-l", "app=agent", "-o", "json")).items;
  expect(pods.filter((p: any) => !p.metadata.deletionTimestamp).map((p: any) => p.spec.containers[0].image)).toEqual(["agent:2", "agent:2"]);

  expect(await kubectl("rollout", "history", "ds/agent")).toStartWith("daemonset.apps/agent \nREVISION  CHANGE-CAUSE\n");
  expect(await history()).toEqual([
    ["1", "first"],
    ["2", "second"],
  ]);
  const first = await kubectl("rollout", "history", "ds/agent", "--revision=1");
  expect(first).toContain("daemonset.apps/agent with revision #1");
  expect(first).toMatch(/Image:\s+agent:1/);

  // The ControllerRevisions behind it, as `kubectl get` shows them.
  const revs = (await kubectl("get", "controllerrevisions")).trim().split("\n");
  expect(revs[0]!.split(/\s{2,}/)).toEqual(["NAME", "CONTROLLER", "REVISION", "AGE"]);
  expect(revs.slice(1).map((l) => l.split(/\s{2,}/).slice(1, 3)).sort()).toEqual([
    ["daemonset.apps/agent", "1"],
    ["daemonset.apps/agent", "2"],
  ]);

  expect(await kubectl("rollout", "undo", "ds/agent")).toContain("daemonset.apps/agent rolled back");
  expect(await image()).toBe("agent:1");
  await until("status observes the undo", async () => (await rolledOut()).includes("successfully rolled out") && (await history()).length === 2 && (await history())[1]![0] === "3");
  expect(await history()).toEqual([
    ["2", "second"],
    ["3", "first"],
  ]);

  expect(await kubectl("rollout", "undo", "ds/agent", "--to-revision=2")).toContain("rolled back");
  expect(await image()).toBe("agent:2");
  expect(await rolledOut()).toContain("successfully rolled out");
  const missing = await server.kubectl("rollout", "undo", "ds/agent", "--to-revision=9");
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toContain("unable to find specified revision 9 in history");
}, 40_000);

const replicationController = `apiVersion: v1
kind: ReplicationController
metadata:
  name: web
spec:
  replicas: 1
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: web:1
`;

test("ReplicationController: kubectl get rc shows upstream's columns; kubectl scale rc", async () => {
  expect((await server.kubectlWith({ stdin: replicationController }, "apply", "-f", "-")).code).toBe(0);
  // The selector defaulted from the template's labels.
  expect(await kubectl("get", "rc", "web", "-o", "jsonpath={.spec.selector.app}")).toBe("web");
  const row = async () => (await kubectl("get", "rc", "web")).trim().split("\n").map((l) => l.split(/\s{2,}/));
  await until("1 ready", async () => (await row())[1]![3] === "1");
  expect((await row())[0]).toEqual(["NAME", "DESIRED", "CURRENT", "READY", "AGE"]);

  expect(await kubectl("scale", "rc", "web", "--replicas=3")).toContain("replicationcontroller/web scaled");
  const rows = await until("3 ready", async () => {
    const r = await row();
    return r[1]![3] === "3" ? r : undefined;
  });
  expect(rows[1]!.slice(0, 4)).toEqual(["web", "3", "3", "3"]);
  const wide = (await kubectl("get", "rc", "web", "-o", "wide")).trim().split("\n").map((l) => l.split(/\s{2,}/));
  expect(wide[0]).toEqual(["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]);
  expect(wide[1]!.slice(5)).toEqual(["web", "web:1", "app=web"]);
  expect(await kubectl("get", "all", "-o", "name")).toContain("replicationcontroller/web");
  const kinds = (await kubectl("api-resources", "--no-headers")).split("\n").map((l) => l.trim().split(/\s+/));
  expect(kinds).toContainEqual(["replicationcontrollers", "rc", "v1", "true", "ReplicationController"]);
  expect(kinds).toContainEqual(["controllerrevisions", "apps/v1", "true", "ControllerRevision"]);

  expect(await kubectl("scale", "rc", "web", "--replicas=0")).toContain("scaled");
  await until("no pods", async () => (await kubectl("get", "pods", "-l", "app=web", "-o", "name")).trim() === "");
}, 30_000);
