import { afterAll, beforeAll, expect, test } from "bun:test";
import { replicaSets, type ReplicaSet } from "../../../api/resources/apps/replicaset";
import { pods, type Pod } from "../../../api/resources/core/pod";
import { replicationControllers, type ReplicationController } from "../../../api/resources/core/replicationcontroller";
import { SharedInformers } from "../informers";
import { createNamespace, eventually, FakeKubelet, startTestEnv, type TestEnv } from "../replicaset/testing";
import { startReplicaSetController } from "../replicaset";
import { startReplicationControllerController } from ".";

const NS = "rc";
let env: TestEnv;
let shared: SharedInformers;
let controllers: { stop(): Promise<void> }[];
let kubelet: FakeKubelet;
beforeAll(async () => {
  env = await startTestEnv();
  await createNamespace(env.client, NS);
  // Both controllers on one set of caches, as the controller manager runs them.
  shared = new SharedInformers(env.client);
  controllers = await Promise.all([startReplicaSetController(env.client, { informers: shared }), startReplicationControllerController(env.client, { informers: shared })]);
  kubelet = await new FakeKubelet(env.client).start();
});
afterAll(async () => {
  await kubelet.stop();
  for (const c of controllers) await c.stop();
  shared.stop();
  await env.stop();
});

const rcC = () => env.client.resource<ReplicationController>(replicationControllers);
const podsC = () => env.client.resource<Pod>(pods);
const livePods = async (selector: string) => (await podsC().list(NS, { labelSelector: selector })).items.filter((p) => !p.metadata.deletionTimestamp);

test("an RC keeps its replicas with pods it controls; scale; status; adopts orphans; status as upstream", async () => {
  const rc = await rcC().create(NS, {
    metadata: { name: "web" },
    spec: { template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "web:1" }] } } },
  });
  // Defaults: selector and the RC's labels from the template, one replica.
  expect(rc.spec).toMatchObject({ replicas: 1, selector: { app: "web" } });
  expect(rc.metadata.labels).toEqual({ app: "web" });

  await eventually("one pod", async () => (await livePods("app=web")).length === 1);
  const [pod] = await livePods("app=web");
  expect(pod.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "ReplicationController", name: "web", uid: rc.metadata.uid!, controller: true, blockOwnerDeletion: true }]);
  expect(pod.metadata.generateName).toBe("web-");

  // The Scale subresource, as `kubectl scale rc` uses it.
  const scale = (await env.client.resource(replicationControllers).patch(NS, "web", { spec: { replicas: 3 } }, "merge", "scale")) as any;
  expect(scale).toMatchObject({ kind: "Scale", apiVersion: "autoscaling/v1", spec: { replicas: 3 }, status: { selector: "app=web" } });
  await eventually("three ready", async () => {
    const s = (await rcC().get(NS, "web")).status;
    return s?.replicas === 3 && s.readyReplicas === 3 && s.availableReplicas === 3 && s.fullyLabeledReplicas === 3 && s.observedGeneration === 2;
  });

  // An orphan with matching labels is adopted, and the RC scales back down to 3.
  await podsC().create(NS, { metadata: { name: "stray", labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "web:1" }] } });
  await eventually("orphan adopted", async () => (await podsC().get(NS, "stray")).metadata.ownerReferences?.[0]?.kind === "ReplicationController");
  await eventually("back to three", async () => (await livePods("app=web")).length === 3);

  await rcC().patch(NS, "web", { spec: { replicas: 0 } });
  await eventually("scaled to zero", async () => (await livePods("app=web")).length === 0);
});

test("an RC and a ReplicaSet side by side each keep only their own pods", async () => {
  await rcC().create(NS, { metadata: { name: "a" }, spec: { replicas: 2, selector: { app: "a" }, template: { metadata: { labels: { app: "a" } }, spec: { containers: [{ name: "c", image: "a" }] } } } });
  await env.client.resource<ReplicaSet>(replicaSets).create(NS, {
    metadata: { name: "b" },
    spec: { replicas: 1, selector: { matchLabels: { app: "b" } }, template: { metadata: { labels: { app: "b" } }, spec: { containers: [{ name: "c", image: "b" }] } } },
  });
  await eventually("2 + 1 pods", async () => (await livePods("app=a")).length === 2 && (await livePods("app=b")).length === 1);
  expect((await livePods("app=b"))[0].metadata.ownerReferences![0].kind).toBe("ReplicaSet");
  expect((await livePods("app=a")).every((p) => p.metadata.ownerReferences![0].kind === "ReplicationController")).toBe(true);
});

test("validation as upstream: selector required and matching, replicas not negative; the selector may change", async () => {
  const bad = (spec: ReplicationController["spec"]) => rcC().create(NS, { metadata: { name: "bad" }, spec }).catch((e) => e);
  const noSelector = await bad({ template: { spec: { containers: [{ name: "c", image: "x" }] } } });
  expect(noSelector.code).toBe(422);
  expect(noSelector.message).toContain("spec.selector: Required value");
  const mismatch = await bad({ selector: { app: "x" }, template: { metadata: { labels: { app: "y" } }, spec: { containers: [{ name: "c", image: "x" }] } } });
  expect(mismatch.message).toContain("spec.template.metadata.labels: Invalid value: \"app=y\": `selector` does not match template `labels`");
  const negative = await bad({ replicas: -1, selector: { app: "x" }, template: { metadata: { labels: { app: "x" } }, spec: { containers: [{ name: "c", image: "x" }] } } });
  expect(negative.message).toContain("spec.replicas: Invalid value: -1: must be greater than or equal to 0");
  const deadline = await bad({ selector: { app: "x" }, template: { metadata: { labels: { app: "x" } }, spec: { activeDeadlineSeconds: 5, containers: [{ name: "c", image: "x" }] } } });
  expect(deadline.message).toContain("activeDeadlineSeconds in ReplicationController is not Supported");

  const updated = await rcC().patch(NS, "a", { spec: { selector: { app: "a", tier: "x" }, template: { metadata: { labels: { app: "a", tier: "x" } } } } });
  expect(updated.spec!.selector).toEqual({ app: "a", tier: "x" });
});
