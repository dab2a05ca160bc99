// Every kind a workload or a policy is made of survives a kill -9 of the server in the middle of
// reconciling and a restart: the objects come back with the same uid, and the controllers pick
// up where they were, ending with exactly the pods asked for: no duplicates, and no pod that
// existed before the kill deleted and made again. Simulated nodes: the pods never finish, so the
// counts stay put once reached.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { startSimNodes, type SimNodes } from "./helpers/sim";
import { startTestServer, type TestServer } from "./helpers/server";
import { eventually } from "./helpers/eventually";

const NS = "survive";
let server: TestServer;
let sim: SimNodes | undefined;

const until = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 45_000) =>
  eventually(what, f, { timeoutMs, intervalMs: 200, context: () => server.log.slice(-3000) });

const kubectl = async (...args: string[]) => {
  const r = await server.kubectl(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

const template = (app: string) => `
    metadata:
      labels: { app: ${app} }
    spec:
      containers: [{ name: c, image: busybox }]`;

const MANIFEST = `
apiVersion: v1
kind: ReplicationController
metadata: { name: rc, namespace: ${NS} }
spec:
  replicas: 4
  selector: { app: rc }
  template:${template("rc")}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: sts, namespace: ${NS} }
spec:
  replicas: 3
  podManagementPolicy: Parallel
  serviceName: sts
  selector: { matchLabels: { app: sts } }
  template:${template("sts")}
---
apiVersion: batch/v1
kind: Job
metadata: { name: job, namespace: ${NS} }
spec:
  parallelism: 3
  completions: 6
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: c, image: busybox }]
---
apiVersion: batch/v1
kind: CronJob
metadata: { name: cron, namespace: ${NS} }
spec:
  schedule: "0 3 * * *"
  suspend: true
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{ name: c, image: busybox }]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: pdb, namespace: ${NS} }
spec:
  minAvailable: 1
  selector: { matchLabels: { app: rc } }
---
apiVersion: v1
kind: ResourceQuota
metadata: { name: quota, namespace: ${NS} }
spec:
  hard: { pods: "100" }
---
apiVersion: v1
kind: LimitRange
metadata: { name: limits, namespace: ${NS} }
spec:
  limits: [{ type: Container, max: { cpu: "2" } }]
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: { name: survive-high }
value: 1000
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: claim, namespace: ${NS} }
spec:
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 1Gi } }
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: hpa, namespace: ${NS} }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: StatefulSet, name: sts }
  minReplicas: 1
  maxReplicas: 20
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: reader, namespace: ${NS} }
rules: [{ apiGroups: [""], resources: [pods], verbs: [get] }]
`;

const KINDS = [
  "replicationcontrollers", "statefulsets", "jobs", "cronjobs", "poddisruptionbudgets", "resourcequotas", "limitranges",
  "persistentvolumeclaims", "horizontalpodautoscalers", "roles", "endpointslices", "controllerrevisions",
];

async function uids(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const kind of KINDS) {
    const list = JSON.parse(await kubectl("get", kind, "-n", NS, "-o", "json"));
    for (const o of list.items) out[`${kind}/${o.metadata.name}`] = o.metadata.uid;
  }
  out["priorityclasses/survive-high"] = JSON.parse(await kubectl("get", "priorityclass", "survive-high", "-o", "json")).metadata.uid;
  return out;
}

/** Live pods of the namespace by the owner's kind and name: name → uid. */
async function podsByOwner(): Promise<Record<string, Record<string, string>>> {
  const list = JSON.parse(await kubectl("get", "pods", "-n", NS, "-o", "json"));
  const out: Record<string, Record<string, string>> = {};
  for (const p of list.items) {
    if (p.metadata.deletionTimestamp) continue;
    const owner = p.metadata.ownerReferences?.[0];
    const key = owner ? `${owner.kind}/${owner.name}` : "none";
    (out[key] ??= {})[p.metadata.name] = p.metadata.uid;
  }
  return out;
}

const counts = (pods: Record<string, Record<string, string>>) => Object.fromEntries(Object.entries(pods).map(([k, v]) => [k, Object.keys(v).length]).sort());

/** Waits until the live pods per owner are `want`; on a timeout the last counts are shown. */
async function untilPods(what: string, want: Record<string, number>) {
  let last = {};
  await eventually(what, async () => JSON.stringify((last = counts(await podsByOwner()))) === JSON.stringify(want) || undefined, {
    timeoutMs: 45_000,
    intervalMs: 200,
    context: () => `pods by owner: ${JSON.stringify(last)}\n${server.log.slice(-3000)}`,
  });
}

beforeAll(async () => {
  server = await startTestServer({ args: ["--disable-agent"] });
  sim = startSimNodes(server, 2);
  await kubectl("create", "namespace", NS);
}, 60_000);

afterAll(async () => {
  await sim?.kill();
  await server?.cleanup();
});

test("every kind survives a kill -9 mid-reconcile: same objects, exactly the pods asked for, none made twice", async () => {
  await until("2 sim nodes", async () => (await kubectl("get", "nodes", "--no-headers")).trim().split("\n").filter((l) => l.includes(" Ready")).length === 2);
  const applied = await server.kubectlWith({ stdin: MANIFEST }, "apply", "-f", "-");
  expect(applied.stderr).toBe("");
  const want = { "Job/job": 3, "ReplicationController/rc": 4, "StatefulSet/sts": 3 };
  await untilPods("the first pods", want);
  const before = await podsByOwner();
  const objects = await uids();

  // Mid-reconcile: the controllers are creating 26 more pods when the server dies.
  await kubectl("scale", "rc", "rc", "-n", NS, "--replicas=30");
  await kubectl("scale", "sts", "sts", "-n", NS, "--replicas=6");
  await server.kill();
  await server.restart();

  const wantAfter = { "Job/job": 3, "ReplicationController/rc": 30, "StatefulSet/sts": 6 };
  await untilPods("the scaled pods after the restart", wantAfter);
  const after = await podsByOwner();
  expect(counts(after)).toEqual(wantAfter);
  // No pod from before the kill was replaced.
  for (const [owner, pods] of Object.entries(before)) for (const [name, uid] of Object.entries(pods)) expect(after[owner]?.[name]).toBe(uid);
  // StatefulSet identities stay unique and dense.
  expect(Object.keys(after["StatefulSet/sts"]!).sort()).toEqual(["sts-0", "sts-1", "sts-2", "sts-3", "sts-4", "sts-5"]);
  // Every object is the same object (the same uid).
  const objectsAfter = await uids();
  for (const [key, uid] of Object.entries(objects)) expect(objectsAfter[key]).toBe(uid);
  // The Job counted nothing twice: still 3 active, none succeeded or failed (sim pods never finish).
  const job = JSON.parse(await kubectl("get", "job", "job", "-n", NS, "-o", "json"));
  expect({ active: job.status.active, succeeded: job.status.succeeded ?? 0, failed: job.status.failed ?? 0 }).toEqual({ active: 3, succeeded: 0, failed: 0 });
  // The quota's usage was recounted from what exists.
  let used: unknown;
  await until("quota used = 39 pods", async () => (used = JSON.parse(await kubectl("get", "quota", "quota", "-n", NS, "-o", "json")).status?.used?.pods) === "39" || undefined).catch((e) => {
    throw new Error(`${e.message}\nquota used pods: ${used}`);
  });
}, 120_000);
