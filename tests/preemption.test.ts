// Priority and preemption across processes: a real `bramble server`, two simulated nodes
// (`bramble sim`) and the real kubectl. PriorityClasses are served with upstream's table and
// system classes; pods get their priority from their class; on a full cluster a more important
// pod evicts a less important one and runs in its place, while a pod whose class says Never waits;
// required anti-affinity keeps replicas on different nodes.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { eventually } from "./helpers/eventually";
import { startSimNodes, type SimNodes } from "./helpers/sim";
import { startTestServer, type TestServer } from "./helpers/server";

let server: TestServer;
let sim: SimNodes | undefined;

const until = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 20_000) =>
  eventually(what, f, { timeoutMs, intervalMs: 150, context: () => `sim log:\n${(sim?.log() ?? "").slice(-2000)}` });

const kubectl = async (...args: string[]) => {
  const r = await server.kubectl(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const apply = async (manifest: string) => {
  const r = await server.kubectlWith({ stdin: manifest }, "apply", "-f", "-");
  return r;
};
const podJson = async (name: string) => JSON.parse(await kubectl("get", "pod", name, "-o", "json"));

const CLASSES = `apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: low}
value: 100
description: batch work
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: patient}
value: 5000
preemptionPolicy: Never
`;

const pod = (name: string, priorityClassName: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  priorityClassName: ${priorityClassName}
  containers:
  - name: app
    image: busybox
    resources: {requests: {cpu: 800m}}
`;

const FILLERS = `apiVersion: apps/v1
kind: Deployment
metadata: {name: filler}
spec:
  replicas: 2
  selector: {matchLabels: {app: filler}}
  template:
    metadata: {labels: {app: filler}}
    spec:
      priorityClassName: low
      containers:
      - name: app
        image: busybox
        resources: {requests: {cpu: 800m}}
`;

beforeAll(async () => {
  server = await startTestServer({ args: ["--disable-agent"] });
  sim = startSimNodes(server, 2, "--cpu", "1", "--memory", "4Gi");
}, 60_000);

afterAll(async () => {
  await sim?.kill();
  await server?.cleanup();
});

test("PriorityClasses: the system ones exist and cannot be deleted; user ones show upstream's columns", async () => {
  expect((await apply(CLASSES)).code).toBe(0);
  const table = await kubectl("get", "pc");
  expect(table.split("\n")[0]).toMatch(/^NAME\s+VALUE\s+GLOBAL-DEFAULT\s+AGE\s+PREEMPTIONPOLICY$/);
  expect(table).toMatch(/system-node-critical\s+2000001000\s+false\s+\S+\s+PreemptLowerPriority/);
  expect(table).toMatch(/system-cluster-critical\s+2000000000\s+false/);
  expect(table).toMatch(/patient\s+5000\s+false\s+\S+\s+Never/);
  const del = await server.kubectl("delete", "priorityclass", "system-node-critical");
  expect(del.code).not.toBe(0);
  expect(del.stderr).toContain('priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system priority class and cannot be deleted');
  const reserved = await apply(`apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: too-high}\nvalue: 1000000001\n`);
  expect(reserved.stderr).toContain("maximum allowed value of a user defined priority is 1000000000");
  const unknown = await apply(pod("lost", "nope"));
  expect(unknown.code).not.toBe(0);
  expect(unknown.stderr).toContain('pods "lost" is forbidden: no PriorityClass with name nope was found');
}, 30_000);

test("on a full cluster a higher-priority pod preempts a lower one; a Never pod waits", async () => {
  await until("2 Ready sim nodes", async () => {
    const out = await kubectl("get", "nodes", "--no-headers");
    return out.trim().split("\n").filter((l) => /\sReady\s/.test(l)).length === 2;
  });
  expect((await apply(FILLERS)).code).toBe(0);
  const fillers = await until("both fillers Running, one per node", async () => {
    const list = JSON.parse(await kubectl("get", "pods", "-l", "app=filler", "-o", "json")).items;
    return list.length === 2 && list.every((p: any) => p.status?.phase === "Running") ? list : undefined;
  });
  expect(new Set(fillers.map((p: any) => p.spec.nodeName)).size).toBe(2);
  expect(fillers[0].spec.priority).toBe(100);

  // Never: the cluster is full and this pod may not evict anyone, whatever its priority.
  expect((await apply(pod("patient", "patient"))).code).toBe(0);
  const waiting = await until("patient's Unschedulable condition", async () => {
    const p = await podJson("patient");
    return p.status?.conditions?.find((c: any) => c.type === "PodScheduled" && c.status === "False");
  });
  expect(waiting.message).toBe("0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.");
  await kubectl("delete", "pod", "patient", "--wait=false");

  expect((await apply(pod("vip", "high"))).code).toBe(0);
  const vip = await until("vip Running", async () => {
    const p = await podJson("vip");
    return p.status?.phase === "Running" ? p : undefined;
  });
  expect(vip.spec.priority).toBe(1000);
  expect(vip.spec.preemptionPolicy).toBe("PreemptLowerPriority");
  const victimName = fillers.find((p: any) => p.spec.nodeName === vip.spec.nodeName).metadata.name;
  const events = JSON.parse(await kubectl("get", "events", "-o", "json")).items;
  const preempted = events.find((e: any) => e.reason === "Preempted" && e.involvedObject.name === victimName);
  expect(preempted?.message).toBe(`Preempted by pod ${vip.metadata.uid} on node ${vip.spec.nodeName}`);
  // The victim is gone; its replacement (low priority) finds no room and may not preempt back.
  const replacement = await until("the filler replacement waiting", async () => {
    const list = JSON.parse(await kubectl("get", "pods", "-l", "app=filler", "-o", "json")).items;
    if (list.some((p: any) => p.metadata.name === victimName)) return undefined;
    return list.find((p: any) => !p.spec.nodeName && p.status?.conditions?.some((c: any) => c.type === "PodScheduled" && c.status === "False"));
  });
  expect(replacement.status.conditions.find((c: any) => c.type === "PodScheduled").message).toBe(
    "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
  );
}, 40_000);

test("required anti-affinity on the hostname, decided by the server's scheduler", async () => {
  const manifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: apart}
spec:
  replicas: 3
  selector: {matchLabels: {app: apart}}
  template:
    metadata: {labels: {app: apart}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: apart}}
            topologyKey: kubernetes.io/hostname
      containers:
      - name: app
        image: busybox
        resources: {requests: {cpu: 50m}}
`;
  expect((await apply(manifest)).code).toBe(0);
  const pods = await until("two apart pods placed and one waiting", async () => {
    const list = JSON.parse(await kubectl("get", "pods", "-l", "app=apart", "-o", "json")).items;
    const waiting = list.filter((p: any) => p.status?.conditions?.some((c: any) => c.type === "PodScheduled" && c.status === "False"));
    return list.length === 3 && list.filter((p: any) => p.spec.nodeName).length === 2 && waiting.length === 1 ? list : undefined;
  });
  expect(new Set(pods.filter((p: any) => p.spec.nodeName).map((p: any) => p.spec.nodeName)).size).toBe(2);
  const waiting = pods.find((p: any) => !p.spec.nodeName);
  // Priority 0 (no class, no global default): the priority-100 fillers cannot be preempted for it.
  expect(waiting.spec.priority).toBe(0);
  expect(waiting.status.conditions.find((c: any) => c.type === "PodScheduled").message).toBe(
    "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
  );
}, 30_000);
