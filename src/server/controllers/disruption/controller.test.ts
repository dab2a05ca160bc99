import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { ReplicaSet } from "../../../api/resources/apps/replicaset";
import { replicaSets } from "../../../api/resources/apps/replicaset";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import { podDisruptionBudgets, type PodDisruptionBudget } from "../../../api/resources/policy/poddisruptionbudget";
import { replicationControllers } from "../../../api/resources/core/replicationcontroller";
import type { KubeObject } from "../../../api/meta";
import { ApiError } from "../../../api/errors";
import type { ResourceClient } from "../../../client/client";
import { eventually, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { ReplicaSetController } from "../replicaset/controller";
import { createNamespace, FakeKubelet } from "../replicaset/testing";
import { DisruptionController } from "./controller";

setDefaultTimeout(30_000);

let env: ControllerTestEnv;
let kubelet: FakeKubelet;
let rsController: ReplicaSetController;
let controller: DisruptionController;
let pdbs: ResourceClient<PodDisruptionBudget>;
let pods: ResourceClient<Pod>;
let rss: ResourceClient<ReplicaSet>;

beforeAll(async () => {
  env = await startControllerTestEnv();
  pdbs = env.client.resource<PodDisruptionBudget>(podDisruptionBudgets);
  pods = env.client.resource<Pod>(podsDef);
  rss = env.client.resource<ReplicaSet>(replicaSets);
  kubelet = await new FakeKubelet(env.client).start();
  rsController = new ReplicaSetController(env.client);
  await rsController.start();
  controller = new DisruptionController(env.client);
  await controller.start();
});
afterAll(async () => {
  await controller.stop();
  await rsController.stop();
  await kubelet.stop();
  await env.stop();
});

const replicaSet = (name: string, replicas: number): ReplicaSet => ({
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "busybox" }] } },
  },
});

const readyPods = async (ns: string, app: string) =>
  (await pods.list(ns, { labelSelector: `app=${app}` })).items.filter((p) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));

const evict = (ns: string, name: string, dryRun = false) =>
  pods.post(ns, name, "eviction", { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: ns }, ...(dryRun && { deleteOptions: { dryRun: ["All"] } }) });

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("expected an error");
}

describe("disruption controller and eviction", () => {
  test("minAvailable: status from the pods; an eviction takes the one allowed disruption, the next gets 429 until a replacement is ready", async () => {
    const ns = "pdb-min";
    await createNamespace(env.client, ns);
    await rss.create(ns, replicaSet("web", 3));
    await eventually(async () => (await readyPods(ns, "web")).length === 3, "3 ready pods");
    await pdbs.create(ns, { metadata: { name: "web" }, spec: { minAvailable: 2, selector: { matchLabels: { app: "web" } } } });
    const settled = await eventually(async () => {
      const p = await pdbs.get(ns, "web");
      return p.status?.observedGeneration === 1 && p.status.currentHealthy === 3 ? p : undefined;
    }, "pdb status");
    expect(settled.status).toMatchObject({ expectedPods: 3, desiredHealthy: 2, currentHealthy: 3, disruptionsAllowed: 1 });
    expect(settled.status?.conditions).toEqual([expect.objectContaining({ type: "DisruptionAllowed", status: "True", reason: "SufficientPods", observedGeneration: 1 })]);

    // Replacements stay unready, so the budget cannot recover yet.
    const original = new Set((await readyPods(ns, "web")).map((p) => p.metadata.name));
    kubelet.holdBack = (p) => p.metadata.namespace === ns && !original.has(p.metadata.name);
    const [first, second] = [...original] as string[];
    // The eviction's own write of the budget is seen on a watch: one disruption taken, the pod
    // recorded (the controller drops the entry once the pod is being deleted).
    const seen: PodDisruptionBudget[] = [];
    const watch = pdbs.watch(ns, { resourceVersion: settled.metadata.resourceVersion }, (e) => void (e.type === "MODIFIED" && seen.push(e.object)));
    await evict(ns, first!);
    const taken = await eventually(() => seen.find((p) => p.status?.disruptedPods?.[first!]), "the eviction's budget write");
    watch.stop();
    expect(taken.status?.disruptionsAllowed).toBe(0);
    expect(Object.keys(taken.status?.disruptedPods ?? {})).toEqual([first!]);
    expect((await pdbs.get(ns, "web")).status?.disruptionsAllowed).toBe(0);
    const evicted = await pods.get(ns, first!).catch(() => undefined);
    if (evicted) expect(evicted.status?.conditions?.find((c) => c.type === "DisruptionTarget")).toMatchObject({ status: "True", reason: "EvictionByEvictionAPI" });

    const refused = await apiError(evict(ns, second!));
    expect(refused.code).toBe(429);
    expect(refused.message).toBe("Cannot evict pod as it would violate the pod's disruption budget.");
    expect(refused.details?.causes?.[0]).toMatchObject({ reason: "DisruptionBudget" });
    await eventually(async () => (await pdbs.get(ns, "web")).status?.conditions?.[0]?.reason === "InsufficientPods", "InsufficientPods");

    kubelet.holdBack = () => false;
    kubelet.resync();
    await eventually(async () => (await pdbs.get(ns, "web")).status?.disruptionsAllowed === 1, "budget recovered");
    await evict(ns, second!);
  });

  test("maxUnavailable percentage: expected pods from the ReplicaSet's replicas, rounded up", async () => {
    const ns = "pdb-max";
    await createNamespace(env.client, ns);
    await rss.create(ns, replicaSet("api", 4));
    await eventually(async () => (await readyPods(ns, "api")).length === 4, "4 ready pods");
    await pdbs.create(ns, { metadata: { name: "api" }, spec: { maxUnavailable: "30%", selector: { matchLabels: { app: "api" } } } });
    const p = await eventually(async () => {
      const p = await pdbs.get(ns, "api");
      return p.status?.currentHealthy === 4 ? p : undefined;
    }, "pdb status");
    // 30% of 4 rounds up to 2 unavailable.
    expect(p.status).toMatchObject({ expectedPods: 4, desiredHealthy: 2, disruptionsAllowed: 2 });

    // A spec change bumps the generation; the controller catches up.
    await pdbs.update({ ...p, spec: { ...p.spec, maxUnavailable: "25%" } });
    await eventually(async () => {
      const q = await pdbs.get(ns, "api");
      return q.status?.observedGeneration === 2 && q.status.desiredHealthy === 3 && q.status.disruptionsAllowed === 1;
    }, "new generation observed");

    // A dry run changes nothing.
    const victim = (await readyPods(ns, "api"))[0]!.metadata.name!;
    await evict(ns, victim, true);
    expect((await pdbs.get(ns, "api")).status?.disruptionsAllowed).toBe(1);
    expect((await pods.get(ns, victim)).metadata.deletionTimestamp).toBeUndefined();

    // Two budgets over one pod: the eviction subresource refuses, as upstream.
    await pdbs.create(ns, { metadata: { name: "api-2" }, spec: { minAvailable: 1, selector: { matchLabels: { app: "api" } } } });
    const e = await apiError(evict(ns, victim));
    expect(e.code).toBe(500);
    expect(e.message).toContain("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
  });

  test("unmanaged pods under a percentage budget expect nothing; a missing controller fails safe", async () => {
    const ns = "pdb-orphan";
    await createNamespace(env.client, ns);
    await pods.create(ns, { metadata: { name: "lonely", labels: { app: "lonely" } }, spec: { containers: [{ name: "c", image: "busybox" }] } });
    await pdbs.create(ns, { metadata: { name: "lonely" }, spec: { minAvailable: "50%", selector: { matchLabels: { app: "lonely" } } } });
    // Unmanaged pods are counted as 0 expected: nothing may be disrupted.
    const p = await eventually(async () => {
      const p = await pdbs.get(ns, "lonely");
      return p.status?.observedGeneration === 1 ? p : undefined;
    }, "status");
    expect(p.status).toMatchObject({ expectedPods: 0, disruptionsAllowed: 0 });

    const ownerRef = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "gone", uid: "0000", controller: true };
    await pods.create(ns, { metadata: { name: "owned", labels: { app: "owned" }, ownerReferences: [ownerRef] }, spec: { containers: [{ name: "c", image: "busybox" }] } });
    await pdbs.create(ns, { metadata: { name: "owned" }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: "owned" } } } });
    const failed = await eventually(async () => (await pdbs.get(ns, "owned")).status?.conditions?.find((c) => c.reason === "SyncFailed"), "SyncFailed");
    expect(failed).toMatchObject({ type: "DisruptionAllowed", status: "False", message: 'found no controllers for pod "owned"' });
  });

  test("a ReplicationController's replicas count as expected pods, even those not yet created", async () => {
    const ns = "pdb-rc";
    await createNamespace(env.client, ns);
    const rc = await env.client.resource<KubeObject>(replicationControllers).create(ns, {
      metadata: { name: "legacy" },
      spec: { replicas: 3, selector: { app: "legacy" }, template: { metadata: { labels: { app: "legacy" } }, spec: { containers: [{ name: "c", image: "busybox" }] } } },
    } as KubeObject);
    const ownerReferences = [{ apiVersion: "v1", kind: "ReplicationController", name: "legacy", uid: rc.metadata.uid!, controller: true }];
    for (const name of ["legacy-a", "legacy-b"])
      await pods.create(ns, { metadata: { name, labels: { app: "legacy" }, ownerReferences }, spec: { containers: [{ name: "c", image: "busybox" }] } });
    await eventually(async () => (await readyPods(ns, "legacy")).length === 2, "2 ready pods");
    await pdbs.create(ns, { metadata: { name: "legacy" }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: "legacy" } } } });
    const p = await eventually(async () => {
      const p = await pdbs.get(ns, "legacy");
      return p.status?.currentHealthy === 2 ? p : undefined;
    }, "status");
    expect(p.status).toMatchObject({ expectedPods: 3, desiredHealthy: 2, disruptionsAllowed: 0 });
    expect(p.status?.conditions?.[0]).toMatchObject({ status: "False", reason: "InsufficientPods" });
  });

  test("validation as upstream", async () => {
    const ns = "pdb-valid";
    await createNamespace(env.client, ns);
    const e = await apiError(pdbs.create(ns, { metadata: { name: "bad" }, spec: { minAvailable: 1, maxUnavailable: "120%", unhealthyPodEvictionPolicy: "Sometimes" } }));
    expect(e.code).toBe(422);
    expect(e.message).toContain("spec: Invalid value");
    expect(e.message).toContain("minAvailable and maxUnavailable cannot be both set");
    expect(e.message).toContain("spec.maxUnavailable: Invalid value: \"120%\": must not be greater than 100%");
    expect(e.message).toContain('spec.unhealthyPodEvictionPolicy: Unsupported value: "Sometimes": supported values: "AlwaysAllow", "IfHealthyBudget"');
    const neg = await apiError(pdbs.create(ns, { metadata: { name: "neg" }, spec: { minAvailable: -1 } }));
    expect(neg.message).toContain("spec.minAvailable: Invalid value: -1: must be greater than or equal to 0");
  });
});
