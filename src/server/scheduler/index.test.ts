// The scheduler against the in-process API server (memory store) over HTTP: real informers,
// real bindings, real status patches and events.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { nodes } from "../../api/resources/core/node";
import { pods, type Pod } from "../../api/resources/core/pod";
import { KubeClient } from "../../client/client";
import { startHttpTestApi, type HttpTestApi } from "../apiserver/testing";
import { makeNode, makePod } from "./harness";
import { startScheduler } from "./index";

let env: HttpTestApi;
let client: KubeClient;
let scheduler: { stop(): Promise<void> };

beforeAll(async () => {
  env = await startHttpTestApi();
  client = env.client;
  for (let i = 0; i < 3; i++) await client.resource(nodes).create(undefined, makeNode(`node-${i}`, { cpu: "2", memory: "4Gi" }));
  await client.resource(nodes).create(undefined, makeNode("cordoned", { cpu: "8", memory: "16Gi", unschedulable: true }));
  scheduler = await startScheduler(client, { policy: "binpack", flushDelayMs: 20 });
});

afterAll(async () => {
  await scheduler?.stop();
  await env.stop();
});

/** Polls until `check` returns a value (no timing assertions: just a generous upper bound). */
async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

const podClient = () => client.resource<Pod>(pods);
const boundNode = (name: string) =>
  until(async () => (await podClient().get("default", name)).spec?.nodeName || undefined, `${name} to be bound`);

test("pending pods get bound, bin-packed onto the fewest nodes, with a Scheduled event", async () => {
  for (let i = 0; i < 4; i++) await podClient().create("default", makePod(`web-${i}`, { cpu: "1", memory: "1Gi" }));
  const placed = await Promise.all([0, 1, 2, 3].map((i) => boundNode(`web-${i}`)));
  expect(new Set(placed).size).toBe(2);
  expect(placed).not.toContain("cordoned");
  const pod = await podClient().get("default", "web-0");
  expect(pod.status?.conditions?.find((c) => c.type === "PodScheduled")?.status).toBe("True");
  const events = client.resource({ group: "", version: "v1", plural: "events", namespaced: true });
  const scheduled = await until(async () => {
    const list = await events.list("default", { fieldSelector: "involvedObject.name=web-0" });
    return list.items.find((e: any) => e.reason === "Scheduled") as any;
  }, "the Scheduled event");
  expect(scheduled.message).toBe(`Successfully assigned default/web-0 to ${placed[0]}`);
  expect(scheduled.source.component).toBe("default-scheduler");
});

test("a pod that fits nowhere gets PodScheduled=False with the message and a FailedScheduling event, then is placed when a node joins", async () => {
  await podClient().create("default", makePod("huge", { cpu: "3", memory: "1Gi" }));
  const condition = await until(async () => {
    const pod = await podClient().get("default", "huge");
    return pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  }, "the Unschedulable condition");
  expect(condition.reason).toBe("Unschedulable");
  expect(condition.message).toBe(
    "0/4 nodes are available: 1 node(s) were unschedulable, 3 Insufficient cpu. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.",
  );
  const events = client.resource({ group: "", version: "v1", plural: "events", namespaced: true });
  const failed = await until(async () => {
    const list = await events.list("default", { fieldSelector: "involvedObject.name=huge" });
    return list.items.find((e: any) => e.reason === "FailedScheduling") as any;
  }, "the FailedScheduling event");
  expect(failed.type).toBe("Warning");
  expect(failed.message).toBe(condition.message);

  await client.resource(nodes).create(undefined, makeNode("big", { cpu: "4", memory: "8Gi" }));
  expect(await boundNode("huge")).toBe("big");
});

test("uncordoning a node retries waiting pods", async () => {
  await podClient().create("default", makePod("bigger", { cpu: "6" }));
  await until(async () => {
    const pod = await podClient().get("default", "bigger");
    return pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  }, "the Unschedulable condition");
  await client.resource(nodes).patch(undefined, "cordoned", { spec: { unschedulable: false } });
  expect(await boundNode("bigger")).toBe("cordoned");
});

test("pods for another scheduler are left alone", async () => {
  await podClient().create("default", makePod("other", { spec: { schedulerName: "someone-else" } }));
  await podClient().create("default", makePod("mine"));
  await boundNode("mine");
  expect((await podClient().get("default", "other")).spec?.nodeName).toBeUndefined();
});

test("a pod whose claim is missing or unbound stays Pending with upstream's reason, and is placed once the claim is bound", async () => {
  const { persistentVolumeClaims } = await import("../../api/resources/core/persistentvolumeclaim");
  const claims = client.resource(persistentVolumeClaims);
  const pod = makePod("with-claim", { cpu: "100m" });
  pod.spec!.volumes = [{ name: "data", persistentVolumeClaim: { claimName: "data-0" } }];
  await podClient().create("default", pod);
  const total = (await client.resource(nodes).list()).items.length;
  const reason = (want: string) =>
    until(async () => {
      const c = (await podClient().get("default", "with-claim")).status?.conditions?.find((c) => c.type === "PodScheduled");
      return c?.message === want ? c : undefined;
    }, want);
  await reason(`0/${total} nodes are available: persistentvolumeclaim "data-0" not found.`);
  await claims.create("default", { metadata: { name: "data-0" }, spec: { storageClassName: "", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } });
  await reason(`0/${total} nodes are available: pod has unbound immediate PersistentVolumeClaims.`);
  expect((await podClient().get("default", "with-claim")).spec?.nodeName).toBeUndefined();
  // Something binds the claim (no persistent-volume controller runs here): the pod is placed.
  const { persistentVolumes } = await import("../../api/resources/core/persistentvolume");
  await client.resource(persistentVolumes).create(undefined, { metadata: { name: "pv-1" }, spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/srv/pv-1" } } });
  await claims.patch("default", "data-0", { spec: { volumeName: "pv-1" } });
  await boundNode("with-claim");
});

test("WaitForFirstConsumer: the chosen node is written on the claim, and the pod is bound there once the claim is", async () => {
  const { persistentVolumeClaims } = await import("../../api/resources/core/persistentvolumeclaim");
  const { persistentVolumes } = await import("../../api/resources/core/persistentvolume");
  const claims = client.resource(persistentVolumeClaims);
  // No class named: the default (local-path, WaitForFirstConsumer) is given by admission.
  await claims.create("default", { metadata: { name: "wffc-0" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } });
  const pod = makePod("wffc-user", { cpu: "100m" });
  pod.spec!.volumes = [{ name: "data", persistentVolumeClaim: { claimName: "wffc-0" } }];
  await podClient().create("default", pod);
  const selected = await until(async () => (await claims.get("default", "wffc-0")).metadata.annotations?.["volume.kubernetes.io/selected-node"], "selected-node");
  expect((await podClient().get("default", "wffc-user")).spec?.nodeName).toBeUndefined();
  // What the provisioner does: a volume pinned to that node, bound to the claim.
  await client.resource(persistentVolumes).create(undefined, {
    metadata: { name: "wffc-pv" },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      hostPath: { path: "/srv/wffc" },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [selected] }] }] } },
    },
  });
  await claims.patch("default", "wffc-0", { spec: { volumeName: "wffc-pv" } });
  expect(await boundNode("wffc-user")).toBe(selected);
});
