import { afterAll, beforeAll, expect, test } from "bun:test";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import { replicaSets as rsDef, type ReplicaSet } from "../../../api/resources/apps/replicaset";
import type { ResourceClient } from "../../../client/client";
import { controllerRefOf, isPodActive } from "../podutil";
import { ReplicaSetController } from "./controller";
import { createNamespace, eventually, FakeKubelet, startTestEnv, type TestEnv } from "./testing";

let env: TestEnv;
let controller: ReplicaSetController;
let kubelet: FakeKubelet;
let rsClient: ResourceClient<ReplicaSet>;
let podClient: ResourceClient<Pod>;

beforeAll(async () => {
  env = await startTestEnv();
  rsClient = env.client.resource<ReplicaSet>(rsDef);
  podClient = env.client.resource<Pod>(podsDef);
  kubelet = await new FakeKubelet(env.client).start();
  controller = new ReplicaSetController(env.client);
  await controller.start();
});

afterAll(async () => {
  await controller.stop();
  await kubelet.stop();
  await env.stop();
});

const replicaSet = (name: string, replicas: number, extra: Partial<NonNullable<ReplicaSet["spec"]>> = {}): ReplicaSet => ({
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "nginx:1" }] } },
    ...extra,
  },
});

/** Active pods in the namespace controlled by the named ReplicaSet (read through the API). */
async function ownedPods(ns: string, rsName: string): Promise<Pod[]> {
  const rs = await rsClient.get(ns, rsName);
  const list = await podClient.list(ns);
  return list.items.filter((p) => controllerRefOf(p)?.uid === rs.metadata.uid && isPodActive(p));
}

test("creates the pods a ReplicaSet asks for, owned by it, and reports full status", async () => {
  await createNamespace(env.client, "rs-create");
  await rsClient.create("rs-create", replicaSet("web", 3));
  await eventually("3 available", async () => (await rsClient.get("rs-create", "web")).status?.availableReplicas === 3);
  const pods = await ownedPods("rs-create", "web");
  expect(pods.length).toBe(3);
  for (const p of pods) {
    expect(p.metadata.name).toStartWith("web-");
    expect(p.metadata.labels).toEqual({ app: "web" });
    expect(controllerRefOf(p)).toMatchObject({ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", controller: true, blockOwnerDeletion: true });
  }
  const rs = await rsClient.get("rs-create", "web");
  expect(rs.status).toMatchObject({ replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
});

test("scaling down deletes the least useful pods first", async () => {
  const ns = "rs-scale-down";
  await createNamespace(env.client, ns);
  await rsClient.create(ns, replicaSet("web", 2));
  await eventually("2 ready", async () => (await rsClient.get(ns, "web")).status?.readyReplicas === 2);
  const readyNames = new Set((await ownedPods(ns, "web")).map((p) => p.metadata.name));
  kubelet.holdBack = (p) => p.metadata.namespace === ns && !readyNames.has(p.metadata.name);
  try {
    await rsClient.patch(ns, "web", { spec: { replicas: 3 } });
    await eventually("a third, pending pod", async () => (await ownedPods(ns, "web")).length === 3);
    await rsClient.patch(ns, "web", { spec: { replicas: 2 } });
    await eventually("back to 2", async () => (await ownedPods(ns, "web")).length === 2);
    const left = new Set((await ownedPods(ns, "web")).map((p) => p.metadata.name));
    expect(left).toEqual(readyNames);
  } finally {
    kubelet.holdBack = () => false;
  }
});

test("adopts a matching orphan instead of creating, and releases a pod whose labels stop matching", async () => {
  const ns = "rs-adopt";
  await createNamespace(env.client, ns);
  await podClient.create(ns, { metadata: { name: "orphan", labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "nginx:1" }] } } as Pod);
  const rs = await rsClient.create(ns, replicaSet("web", 1));
  await eventually("orphan adopted", async () => controllerRefOf(await podClient.get(ns, "orphan"))?.uid === rs.metadata.uid);
  await eventually("status 1", async () => (await rsClient.get(ns, "web")).status?.replicas === 1);
  expect((await podClient.list(ns)).items.length).toBe(1);

  await podClient.patch(ns, "orphan", { metadata: { labels: { app: "other" } } });
  await eventually("orphan released", async () => !(await podClient.get(ns, "orphan")).metadata.ownerReferences?.length);
  await eventually("replacement created", async () => (await ownedPods(ns, "web")).length === 1);
  expect((await ownedPods(ns, "web"))[0].metadata.name).not.toBe("orphan");
});

test("a burst of replica changes ends at exactly the last count, with no double creates", async () => {
  const ns = "rs-burst";
  await createNamespace(env.client, ns);
  await rsClient.create(ns, replicaSet("web", 0));
  const created = new Set<string>();
  const watch = podClient.watch(ns, {}, (e) => {
    if (e.type === "ADDED") created.add(e.object.metadata.name!);
  });
  for (let i = 0; i < 50; i++) {
    const n = (i * 7) % 11;
    await rsClient.patch(ns, "web", { spec: { replicas: n } });
  }
  await rsClient.patch(ns, "web", { spec: { replicas: 6 } });
  await eventually("6 ready", async () => {
    const rs = await rsClient.get(ns, "web");
    return rs.status?.readyReplicas === 6 && rs.status.replicas === 6 && (await ownedPods(ns, "web")).length === 6;
  });
  // Settled: further reconciles (status writes, kubelet updates) must not add pods.
  await Bun.sleep(300);
  expect((await ownedPods(ns, "web")).length).toBe(6);
  watch.stop();
  expect(created.size).toBeGreaterThanOrEqual(6);
});

test("many pod events at once never create more pods than asked for", async () => {
  const ns = "rs-events";
  await createNamespace(env.client, ns);
  const created = new Set<string>();
  const watch = podClient.watch(ns, {}, (e) => {
    if (e.type === "ADDED") created.add(e.object.metadata.name!);
  });
  await rsClient.create(ns, replicaSet("web", 25));
  await eventually("25 ready", async () => (await rsClient.get(ns, "web")).status?.readyReplicas === 25);
  // Touch every pod repeatedly: a storm of update events for the ReplicaSet.
  for (let round = 0; round < 3; round++)
    await Promise.all((await ownedPods(ns, "web")).map((p) => podClient.patch(ns, p.metadata.name!, { metadata: { annotations: { round: String(round) } } })));
  await Bun.sleep(200);
  watch.stop();
  expect(created.size).toBe(25);
  expect((await ownedPods(ns, "web")).length).toBe(25);
});

test("terminating pods are not counted: a replacement is made while the old one finishes", async () => {
  const ns = "rs-terminating";
  await createNamespace(env.client, ns);
  await rsClient.create(ns, replicaSet("web", 2));
  await eventually("2 ready", async () => (await rsClient.get(ns, "web")).status?.readyReplicas === 2);
  kubelet.finishDeletes = false;
  try {
    const [victim] = await ownedPods(ns, "web");
    await podClient.delete(ns, victim.metadata.name!);
    await eventually("replacement ready", async () => (await rsClient.get(ns, "web")).status?.readyReplicas === 2 && (await ownedPods(ns, "web")).length === 2);
    const all = (await podClient.list(ns)).items;
    expect(all.length).toBe(3);
    expect((await podClient.get(ns, victim.metadata.name!)).metadata.deletionTimestamp).toBeDefined();
    expect((await rsClient.get(ns, "web")).status?.replicas).toBe(2);
  } finally {
    kubelet.finishDeletes = true;
    kubelet.resync();
  }
});

test("minReadySeconds holds availability back until pods have been ready long enough", async () => {
  const ns = "rs-minready";
  await createNamespace(env.client, ns);
  await rsClient.create(ns, replicaSet("web", 2, { minReadySeconds: 1 }));
  await eventually("2 ready", async () => (await rsClient.get(ns, "web")).status?.readyReplicas === 2);
  // Condition timestamps have one-second precision, so availability can lag by up to 2s.
  await eventually("2 available", async () => (await rsClient.get(ns, "web")).status?.availableReplicas === 2, 200, 25);
});
