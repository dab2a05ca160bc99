import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import type { Pod } from "../../../api/resources/core/pod";
import type { ReplicaSet } from "../../../api/resources/apps/replicaset";
import { controllerRefOf, isPodActive, isPodReady } from "../podutil";
import { createNamespace, eventually } from "../replicaset/testing";
import { DeploymentController } from "./controller";
import { computeHash } from "./hash";
import { deployment, imageOf, replicaSetsOf, rolledOut, startCluster, type Cluster } from "./testing";

setDefaultTimeout(30_000);

let c: Cluster;
beforeAll(async () => {
  c = await startCluster();
});
afterAll(async () => {
  await c.stop();
});

const annotation = (o: { metadata: { annotations?: Record<string, string> } }, k: string) => o.metadata.annotations?.[k];

test("a new Deployment gets a ReplicaSet named by its pod-template-hash, revision 1, and full status", async () => {
  const ns = "d-create";
  await createNamespace(c.env.client, ns);
  await c.deployments.create(ns, deployment("web", 3, "nginx:1"));
  await eventually("rolled out", () => rolledOut(c, ns, "web"));
  const d = await c.deployments.get(ns, "web");
  const [rs] = await replicaSetsOf(c, ns, "web");
  const hash = computeHash(d.spec!.template);
  expect(rs.metadata.name).toBe(`web-${hash}`);
  expect(rs.metadata.labels).toEqual({ app: "web", "pod-template-hash": hash });
  expect(rs.spec?.selector.matchLabels).toEqual({ app: "web", "pod-template-hash": hash });
  expect(rs.spec?.template?.metadata?.labels).toEqual({ app: "web", "pod-template-hash": hash });
  expect(rs.metadata.annotations).toMatchObject({
    "deployment.kubernetes.io/revision": "1",
    "deployment.kubernetes.io/desired-replicas": "3",
    "deployment.kubernetes.io/max-replicas": "4",
  });
  expect(annotation(d, "deployment.kubernetes.io/revision")).toBe("1");
  expect(d.status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 0, observedGeneration: 1 });
  const cond = (t: string) => d.status?.conditions?.find((x) => x.type === t);
  expect(cond("Available")).toMatchObject({ status: "True", reason: "MinimumReplicasAvailable" });
  expect(cond("Progressing")).toMatchObject({ status: "True", reason: "NewReplicaSetAvailable", message: `ReplicaSet "web-${hash}" has successfully progressed.` });
  const events = await c.env.client.resource({ group: "", version: "v1", plural: "events", namespaced: true }).list(ns, { fieldSelector: "involvedObject.name=web" });
  expect(events.items.map((e) => (e as { message?: string }).message)).toContain(`Scaled up replica set web-${hash} from 0 to 3`);
});

test("a rolling update stays within maxSurge and maxUnavailable at every observed step", async () => {
  const ns = "d-rolling";
  await createNamespace(c.env.client, ns);
  const replicas = 4;
  const d0 = deployment("web", replicas, "nginx:1", { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } });
  await c.deployments.create(ns, d0);
  await eventually("v1 rolled out", () => rolledOut(c, ns, "web"));

  const pods = new Map<string, Pod>();
  const rss = new Map<string, ReplicaSet>();
  const violations: string[] = [];
  let maxSpecSum = 0;
  let minReady = Infinity;
  const check = () => {
    const specSum = [...rss.values()].reduce((a, rs) => a + (rs.spec?.replicas ?? 0), 0);
    const ready = [...pods.values()].filter((p) => isPodActive(p) && isPodReady(p)).length;
    maxSpecSum = Math.max(maxSpecSum, specSum);
    minReady = Math.min(minReady, ready);
    if (specSum > replicas + 1) violations.push(`spec sum ${specSum}`);
    if (ready < replicas - 1) violations.push(`ready ${ready}`);
  };
  for (const p of (await c.pods.list(ns)).items) pods.set(p.metadata.name!, p);
  for (const rs of (await c.replicaSets.list(ns)).items) rss.set(rs.metadata.name!, rs);
  const podWatch = c.pods.watch(ns, { resourceVersion: "0" }, (e) => {
    if (e.type === "DELETED") pods.delete(e.object.metadata.name!);
    else if (e.type !== "BOOKMARK") pods.set(e.object.metadata.name!, e.object);
    check();
  });
  const rsWatch = c.replicaSets.watch(ns, { resourceVersion: "0" }, (e) => {
    if (e.type === "DELETED") rss.delete(e.object.metadata.name!);
    else if (e.type !== "BOOKMARK") rss.set(e.object.metadata.name!, e.object);
    check();
  });
  try {
    await c.deployments.patch(ns, "web", { spec: { template: { spec: { containers: [{ name: "app", image: "nginx:2" }] } } } }, "strategic");
    await eventually("v2 rolled out", () => rolledOut(c, ns, "web"));
  } finally {
    podWatch.stop();
    rsWatch.stop();
  }
  expect(violations).toEqual([]);
  expect(maxSpecSum).toBe(replicas + 1); // the surge was actually used
  expect(minReady).toBeGreaterThanOrEqual(replicas - 1);
  const [old, cur] = await replicaSetsOf(c, ns, "web");
  expect(old.spec?.replicas).toBe(0);
  expect(imageOf(cur)).toBe("nginx:2");
  expect(annotation(cur, "deployment.kubernetes.io/revision")).toBe("2");
  expect(annotation(await c.deployments.get(ns, "web"), "deployment.kubernetes.io/revision")).toBe("2");
  const live = (await c.pods.list(ns)).items.filter(isPodActive);
  expect(live.length).toBe(replicas);
  expect(live.every((p) => imageOf({ spec: { template: { spec: p.spec } } }) === "nginx:2")).toBe(true);
});

test("Recreate never runs old and new pods side by side", async () => {
  const ns = "d-recreate";
  await createNamespace(c.env.client, ns);
  await c.deployments.create(ns, deployment("web", 3, "nginx:1", { strategy: { type: "Recreate" } }));
  await eventually("v1 rolled out", () => rolledOut(c, ns, "web"));
  const pods = new Map<string, Pod>();
  let mixed = false;
  for (const p of (await c.pods.list(ns)).items) pods.set(p.metadata.name!, p);
  const watch = c.pods.watch(ns, { resourceVersion: "0" }, (e) => {
    if (e.type === "DELETED") pods.delete(e.object.metadata.name!);
    else if (e.type !== "BOOKMARK") pods.set(e.object.metadata.name!, e.object);
    const images = new Set([...pods.values()].map((p) => p.spec?.containers[0].image));
    if (images.size > 1) mixed = true;
  });
  try {
    await c.deployments.patch(ns, "web", { spec: { template: { spec: { containers: [{ name: "app", image: "nginx:2" }] } } } }, "strategic");
    await eventually("v2 rolled out", () => rolledOut(c, ns, "web"));
  } finally {
    watch.stop();
  }
  expect(mixed).toBe(false);
  const live = (await c.pods.list(ns)).items.filter(isPodActive);
  expect(live.map((p) => p.spec?.containers[0].image)).toEqual(["nginx:2", "nginx:2", "nginx:2"]);
});

test("rolling back to an old template reuses its ReplicaSet under a new revision", async () => {
  const ns = "d-rollback";
  await createNamespace(c.env.client, ns);
  await c.deployments.create(ns, deployment("web", 2, "nginx:1"));
  await eventually("v1", () => rolledOut(c, ns, "web"));
  const setImage = (image: string) =>
    c.deployments.patch(ns, "web", { spec: { template: { spec: { containers: [{ name: "app", image }] } } } }, "strategic");
  await setImage("nginx:2");
  await eventually("v2", async () => (await rolledOut(c, ns, "web")) && (await replicaSetsOf(c, ns, "web")).length === 2);
  await setImage("nginx:1");
  await eventually("back to v1", async () => (await rolledOut(c, ns, "web")) && annotation(await c.deployments.get(ns, "web"), "deployment.kubernetes.io/revision") === "3");
  const rss = await replicaSetsOf(c, ns, "web");
  expect(rss.length).toBe(2);
  const v1 = rss.find((rs) => imageOf(rs) === "nginx:1")!;
  const v2 = rss.find((rs) => imageOf(rs) === "nginx:2")!;
  expect(annotation(v1, "deployment.kubernetes.io/revision")).toBe("3");
  expect(annotation(v1, "deployment.kubernetes.io/revision-history")).toBe("1");
  expect(annotation(v2, "deployment.kubernetes.io/revision")).toBe("2");
  expect(v1.spec?.replicas).toBe(2);
  expect(v2.spec?.replicas).toBe(0);
});

test("change-cause is copied to the ReplicaSet, and old ReplicaSets beyond revisionHistoryLimit are deleted", async () => {
  const ns = "d-history";
  await createNamespace(c.env.client, ns);
  await c.deployments.create(ns, { ...deployment("web", 1, "nginx:1", { revisionHistoryLimit: 1 }), metadata: { name: "web", annotations: { "kubernetes.io/change-cause": "first" } } });
  await eventually("v1", () => rolledOut(c, ns, "web"));
  for (const [i, image] of ["nginx:2", "nginx:3"].entries()) {
    await c.deployments.patch(ns, "web", {
      metadata: { annotations: { "kubernetes.io/change-cause": `image ${image}` } },
      spec: { template: { spec: { containers: [{ name: "app", image }] } } },
    }, "strategic");
    await eventually(`v${i + 2}`, async () => (await rolledOut(c, ns, "web")) && imageOf((await replicaSetsOf(c, ns, "web")).at(-1)!) === image);
  }
  await eventually("history trimmed to one old ReplicaSet", async () => (await replicaSetsOf(c, ns, "web")).length === 2);
  const rss = await replicaSetsOf(c, ns, "web");
  expect(rss.map(imageOf)).toEqual(["nginx:2", "nginx:3"]);
  expect(rss.map((rs) => annotation(rs, "kubernetes.io/change-cause"))).toEqual(["image nginx:2", "image nginx:3"]);
  expect(rss.map((rs) => annotation(rs, "deployment.kubernetes.io/revision"))).toEqual(["2", "3"]);
});

test("a paused Deployment does not roll out until resumed, and says so in Progressing", async () => {
  const ns = "d-paused";
  await createNamespace(c.env.client, ns);
  await c.deployments.create(ns, deployment("web", 2, "nginx:1"));
  await eventually("v1", () => rolledOut(c, ns, "web"));
  await c.deployments.patch(ns, "web", { spec: { paused: true } });
  await eventually("paused condition", async () => (await c.deployments.get(ns, "web")).status?.conditions?.find((x) => x.type === "Progressing")?.reason === "DeploymentPaused");
  await c.deployments.patch(ns, "web", { spec: { template: { spec: { containers: [{ name: "app", image: "nginx:2" }] } } } }, "strategic");
  await eventually("generation observed", async () => {
    const d = await c.deployments.get(ns, "web");
    return d.status?.observedGeneration === d.metadata.generation;
  });
  await Bun.sleep(200);
  expect((await replicaSetsOf(c, ns, "web")).length).toBe(1);
  // Scaling still works while paused.
  await c.deployments.patch(ns, "web", { spec: { replicas: 3 } });
  await eventually("scaled while paused", async () => (await replicaSetsOf(c, ns, "web"))[0].status?.availableReplicas === 3);
  expect((await replicaSetsOf(c, ns, "web")).length).toBe(1);
  await c.deployments.patch(ns, "web", { spec: { paused: false } });
  await eventually("rolled out after resume", async () => (await rolledOut(c, ns, "web")) && imageOf((await replicaSetsOf(c, ns, "web")).at(-1)!) === "nginx:2");
});

test("scaling in the middle of a rollout scales old and new ReplicaSets proportionally", async () => {
  const ns = "d-proportional";
  await createNamespace(c.env.client, ns);
  await c.deployments.create(ns, deployment("web", 10, "nginx:1", { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } } }));
  await eventually("v1", () => rolledOut(c, ns, "web"));
  c.kubelet.holdBack = (p) => p.metadata.namespace === ns && p.spec?.containers[0].image === "nginx:2";
  try {
    await c.deployments.patch(ns, "web", { spec: { template: { spec: { containers: [{ name: "app", image: "nginx:2" }] } } } }, "strategic");
    const sizes = async () => (await replicaSetsOf(c, ns, "web")).map((rs) => rs.spec?.replicas);
    // 13 allowed (10 + surge 3); 8 must stay available: old 8, new 5, then stuck on unready pods.
    await eventually("stuck mid-rollout", async () => JSON.stringify(await sizes()) === "[8,5]");
    await c.deployments.patch(ns, "web", { spec: { replicas: 20 } });
    // 23 allowed now; +10 shared by max-replicas (13): old 8·23/13 → 14, new 5·23/13 → 9.
    await eventually("scaled proportionally", async () => JSON.stringify(await sizes()) === "[14,9]");
  } finally {
    c.kubelet.holdBack = () => false;
    c.kubelet.resync();
  }
  await eventually("rolled out", () => rolledOut(c, ns, "web"));
  expect((await c.pods.list(ns)).items.filter(isPodActive).length).toBe(20);
});

test("a rollout that stops making progress is marked ProgressDeadlineExceeded", async () => {
  const ns = "d-deadline";
  await createNamespace(c.env.client, ns);
  c.kubelet.holdBack = (p) => p.metadata.namespace === ns;
  try {
    await c.deployments.create(ns, deployment("web", 1, "nginx:1", { progressDeadlineSeconds: 1 }));
    await eventually(
      "deadline exceeded",
      async () => {
        const d = await c.deployments.get(ns, "web");
        return d.status?.conditions?.find((x) => x.type === "Progressing")?.reason === "ProgressDeadlineExceeded";
      },
      250,
      20,
    );
    const d = await c.deployments.get(ns, "web");
    expect(d.status?.conditions?.find((x) => x.type === "Available")).toMatchObject({ status: "False", reason: "MinimumReplicasUnavailable" });
  } finally {
    c.kubelet.holdBack = () => false;
    c.kubelet.resync();
  }
});

test("a controller restart in the middle of a rollout resumes it without duplicate or lost pods", async () => {
  const ns = "d-restart";
  await createNamespace(c.env.client, ns);
  await c.deployments.create(ns, deployment("web", 6, "nginx:1", { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } } }));
  await eventually("v1", () => rolledOut(c, ns, "web"));
  c.kubelet.holdBack = (p) => p.metadata.namespace === ns && p.spec?.containers[0].image === "nginx:2";
  try {
    await c.deployments.patch(ns, "web", { spec: { template: { spec: { containers: [{ name: "app", image: "nginx:2" }] } } } }, "strategic");
    await eventually("mid-rollout", async () => JSON.stringify((await replicaSetsOf(c, ns, "web")).map((rs) => rs.spec?.replicas)) === "[6,2]");
    await c.deployController.stop();
    c.deployController = new DeploymentController(c.env.client);
    await c.deployController.start();
  } finally {
    c.kubelet.holdBack = () => false;
    c.kubelet.resync();
  }
  await eventually("rolled out", () => rolledOut(c, ns, "web"));
  const rss = await replicaSetsOf(c, ns, "web");
  expect(rss.length).toBe(2);
  expect(rss.map((rs) => rs.spec?.replicas)).toEqual([0, 6]);
  const live = (await c.pods.list(ns)).items.filter(isPodActive);
  expect(live.length).toBe(6);
  expect(new Set(live.map((p) => controllerRefOf(p)?.uid))).toEqual(new Set([rss[1].metadata.uid]));
});
