import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ControllerRevision } from "../../../api/resources/apps/controllerrevision";
import { controllerRevisions as crDef } from "../../../api/resources/apps/controllerrevision";
import { statefulSets as stsDef, type StatefulSet } from "../../../api/resources/apps/statefulset";
import { persistentVolumeClaims as pvcDef, type PersistentVolumeClaim } from "../../../api/resources/core/persistentvolumeclaim";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import type { ResourceClient } from "../../../client/client";
import { SharedInformers } from "../informers";
import { controllerRefOf } from "../podutil";
import { createNamespace, eventually as poll, FakeKubelet, startTestEnv, type TestEnv } from "../replicaset/testing";
import { claimOwnersFor, claimOwnersUpToDate } from "./podcontrol";
import { parentAndOrdinal } from "./identity";
import { maxUnavailableOf } from "./update";
import { StatefulSetController } from "./controller";

let env: TestEnv;
let shared: SharedInformers;
let controller: StatefulSetController;
let kubelet: FakeKubelet;
let sets: ResourceClient<StatefulSet>;
let pods: ResourceClient<Pod>;
let claims: ResourceClient<PersistentVolumeClaim>;
let revisions: ResourceClient<ControllerRevision>;

beforeAll(async () => {
  env = await startTestEnv();
  sets = env.client.resource<StatefulSet>(stsDef);
  pods = env.client.resource<Pod>(podsDef);
  claims = env.client.resource<PersistentVolumeClaim>(pvcDef);
  revisions = env.client.resource<ControllerRevision>(crDef);
  kubelet = await new FakeKubelet(env.client).start();
  shared = new SharedInformers(env.client);
  controller = new StatefulSetController(env.client, shared);
  await controller.start();
});

afterAll(async () => {
  await controller.stop();
  shared.stop();
  await kubelet.stop();
  await env.stop();
});

const statefulSet = (name: string, replicas: number, extra: Partial<NonNullable<StatefulSet["spec"]>> = {}): StatefulSet => ({
  metadata: { name },
  spec: {
    replicas,
    serviceName: name,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "busybox:1" }] } },
    ...extra,
  },
});

/** Every pod creation and deletion (mark or removal) in a namespace, in order. */
function record(ns: string) {
  const log: string[] = [];
  const w = pods.watch(ns, {}, (e) => {
    if (e.type === "ADDED") log.push(`+${e.object.metadata.name}`);
    else if (e.type === "DELETED") log.push(`-${e.object.metadata.name}`);
    else if (e.type === "MODIFIED" && e.object.metadata.deletionTimestamp && !log.includes(`~${e.object.metadata.name}`)) log.push(`~${e.object.metadata.name}`);
  });
  return { log, stop: () => w.stop() };
}

/** Polls with a generous ceiling (a loaded machine), never as a timing assertion. */
const eventually = (what: string, check: () => boolean | Promise<boolean>, tries = 1000, everyMs = 20) => poll(what, check, tries, everyMs);

const names = async (ns: string) => (await pods.list(ns)).items.map((p) => p.metadata.name).sort();
const status = async (ns: string, name: string) => (await sets.get(ns, name)).status ?? {};

describe("pure parts", () => {
  test("pod names parse into parent and ordinal", () => {
    expect(parentAndOrdinal("web-0")).toEqual({ parent: "web", ordinal: 0 });
    expect(parentAndOrdinal("my-db-12")).toEqual({ parent: "my-db", ordinal: 12 });
    expect(parentAndOrdinal("web").ordinal).toBe(-1);
    expect(parentAndOrdinal("web-x").ordinal).toBe(-1);
  });

  test("maxUnavailable: an int, or a percentage of replicas rounded down, never below 1", () => {
    expect(maxUnavailableOf(undefined, 10)).toBe(1);
    expect(maxUnavailableOf(3, 10)).toBe(3);
    expect(maxUnavailableOf("25%", 10)).toBe(2);
    expect(maxUnavailableOf("5%", 10)).toBe(1);
  });

  test("claim owners follow the retention policy", () => {
    const set = { metadata: { name: "db", uid: "set-uid" }, spec: { replicas: 2, persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Delete" } } } as StatefulSet;
    const inRange = { metadata: { name: "db-1", uid: "pod-1" } } as Pod;
    const scaledDown = { metadata: { name: "db-2", uid: "pod-2" } } as Pod;
    const claim = { metadata: { name: "data-db-1" } } as PersistentVolumeClaim;
    expect(claimOwnersUpToDate(claim, set, inRange)).toBe(false);
    expect(claimOwnersFor(claim, set, inRange).map((r) => r.uid)).toEqual(["set-uid"]);
    const owned = { metadata: { name: "data-db-2", ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "db", uid: "set-uid" }] } } as PersistentVolumeClaim;
    expect(claimOwnersFor(owned, set, scaledDown).map((r) => `${r.kind}/${r.uid}`)).toEqual(["Pod/pod-2"]);
    // Retain/Retain: no owners at all.
    const retain = { ...set, spec: { ...set.spec, persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" } } } as StatefulSet;
    expect(claimOwnersFor(owned, retain, inRange)).toEqual([]);
    // Controlled by someone else: left alone.
    const foreign = { metadata: { name: "x", ownerReferences: [{ apiVersion: "v1", kind: "Foo", name: "f", uid: "foo", controller: true }] } } as PersistentVolumeClaim;
    expect(claimOwnersUpToDate(foreign, set, inRange)).toBe(true);
  });
});

describe("StatefulSet controller", () => {
  test("OrderedReady scales up one pod at a time, each only once its predecessor is Running and Ready", async () => {
    const ns = "sts-order";
    await createNamespace(env.client, ns);
    const rec = record(ns);
    kubelet.holdBack = (p) => p.metadata.namespace === ns && p.metadata.name === "web-1";
    try {
      await sets.create(ns, statefulSet("web", 3));
      await eventually("web-1 created", async () => (await names(ns)).includes("web-1"));
      await Bun.sleep(300);
      // web-1 is not ready, so web-2 must not exist yet.
      expect(await names(ns)).toEqual(["web-0", "web-1"]);
    } finally {
      kubelet.holdBack = () => false;
      kubelet.resync();
    }
    await eventually("3 ready", async () => (await status(ns, "web")).readyReplicas === 3);
    rec.stop();
    expect(rec.log.filter((l) => l.startsWith("+"))).toEqual(["+web-0", "+web-1", "+web-2"]);

    const pod = await pods.get(ns, "web-1");
    expect(pod.spec?.hostname).toBe("web-1");
    expect(pod.spec?.subdomain).toBe("web");
    expect(pod.metadata.generateName).toBe("web-");
    expect(pod.metadata.labels).toMatchObject({ app: "web", "statefulset.kubernetes.io/pod-name": "web-1", "apps.kubernetes.io/pod-index": "1" });
    const set = await sets.get(ns, "web");
    expect(controllerRefOf(pod)).toMatchObject({ kind: "StatefulSet", name: "web", uid: set.metadata.uid, controller: true, blockOwnerDeletion: true });
    expect(pod.metadata.labels?.["controller-revision-hash"]).toBe(set.status?.updateRevision);
    expect(set.status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3, currentReplicas: 3, updatedReplicas: 3, observedGeneration: 1, collisionCount: 0 });
    expect(set.status?.currentRevision).toBe(set.status?.updateRevision);
    const revs = (await revisions.list(ns)).items;
    expect(revs.map((r) => [r.metadata.name, r.revision])).toEqual([[set.status?.updateRevision, 1]]);
    expect(revs[0]!.metadata.labels).toMatchObject({ app: "web" });
  });

  test("OrderedReady scales down from the highest ordinal, waiting for each pod to be gone", async () => {
    const ns = "sts-down";
    await createNamespace(env.client, ns);
    await sets.create(ns, statefulSet("web", 3));
    await eventually("3 ready", async () => (await status(ns, "web")).readyReplicas === 3);
    const rec = record(ns);
    kubelet.finishDeletes = false;
    try {
      await sets.patch(ns, "web", { spec: { replicas: 1 } });
      await eventually("web-2 terminating", async () => rec.log.includes("~web-2"));
      await Bun.sleep(300);
      expect(rec.log.filter((l) => !l.startsWith("+"))).toEqual(["~web-2"]); // web-1 waits while web-2 is still terminating
    } finally {
      kubelet.finishDeletes = true;
      kubelet.resync();
    }
    await eventually("only web-0", async () => JSON.stringify(await names(ns)) === '["web-0"]');
    rec.stop();
    expect(rec.log.filter((l) => l.startsWith("~"))).toEqual(["~web-2", "~web-1"]);
    await eventually("status 1", async () => (await status(ns, "web")).replicas === 1);
  });

  test("Parallel creates every pod at once, ready or not", async () => {
    const ns = "sts-parallel";
    await createNamespace(env.client, ns);
    kubelet.holdBack = (p) => p.metadata.namespace === ns;
    try {
      await sets.create(ns, statefulSet("web", 4, { podManagementPolicy: "Parallel" }));
      await eventually("4 pods", async () => (await names(ns)).length === 4);
      expect(await names(ns)).toEqual(["web-0", "web-1", "web-2", "web-3"]);
    } finally {
      kubelet.holdBack = () => false;
      kubelet.resync();
    }
    await eventually("4 ready", async () => (await status(ns, "web")).readyReplicas === 4);
  });

  test("volumeClaimTemplates: a claim per pod made before it, mounted as the template's volume; Delete policies set owners", async () => {
    const ns = "sts-claims";
    await createNamespace(env.client, ns);
    const volumeClaimTemplates = [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }];
    const template = {
      metadata: { labels: { app: "db" } },
      spec: { containers: [{ name: "c", image: "busybox:1", volumeMounts: [{ name: "data", mountPath: "/data" }] }] },
    };
    await sets.create(ns, {
      ...statefulSet("db", 2, { podManagementPolicy: "Parallel", persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Delete" } }),
      spec: { ...statefulSet("db", 2).spec!, template, volumeClaimTemplates, podManagementPolicy: "Parallel", persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Delete" } },
    } as StatefulSet);
    await eventually("2 ready", async () => (await status(ns, "db")).readyReplicas === 2);
    const set = await sets.get(ns, "db");
    const claim = await claims.get(ns, "data-db-1");
    expect(claim.metadata.labels).toEqual({ app: "db" });
    expect(claim.status?.phase).toBe("Pending");
    expect(claim.spec?.resources?.requests?.storage).toBe("1Gi");
    await eventually("claims owned by the set", async () =>
      (await claims.list(ns)).items.every((c) => c.metadata.ownerReferences?.length === 1 && c.metadata.ownerReferences[0]!.uid === set.metadata.uid),
    );
    const pod = await pods.get(ns, "db-1");
    expect(pod.spec?.volumes?.find((v) => v.name === "data")?.persistentVolumeClaim).toEqual({ claimName: "data-db-1", readOnly: false });

    // Scaled down: the claim of the condemned pod belongs to that pod (the garbage collector then takes it).
    const podUid = pod.metadata.uid;
    await sets.patch(ns, "db", { spec: { replicas: 1 } });
    await eventually("db-1 gone", async () => !(await names(ns)).includes("db-1"));
    const refs = (await claims.get(ns, "data-db-1")).metadata.ownerReferences ?? [];
    expect(refs.map((r) => `${r.kind}/${r.uid}`)).toEqual([`Pod/${podUid}`]);

    // Scaled up again before the garbage collector took that claim: db-1 waits for it to go
    // (it belongs to the old pod), then comes back with a fresh claim.
    await sets.patch(ns, "db", { spec: { replicas: 2 } });
    await Bun.sleep(300);
    expect(await names(ns)).toEqual(["db-0"]);
    // No persistent-volume controller runs here to lift the claim's pvc-protection finalizer.
    await claims.patch(ns, "data-db-1", { metadata: { finalizers: null } });
    await claims.delete(ns, "data-db-1");
    await eventually("db-1 back", async () => (await status(ns, "db")).readyReplicas === 2);
    const fresh = await claims.get(ns, "data-db-1");
    expect(fresh.metadata.ownerReferences?.map((r) => r.kind)).toEqual(["StatefulSet"]);
  });

  test("RollingUpdate honours the partition, then rolls from the highest ordinal down; history renumbers on rollback", async () => {
    const ns = "sts-roll";
    await createNamespace(env.client, ns);
    await sets.create(ns, statefulSet("web", 3));
    await eventually("3 ready", async () => (await status(ns, "web")).readyReplicas === 3);
    const first = (await status(ns, "web")).updateRevision;
    await sets.patch(ns, "web", {
      spec: { updateStrategy: { rollingUpdate: { partition: 2 } }, template: { spec: { containers: [{ name: "c", image: "busybox:2" }] } } },
    }, "strategic");
    await eventually("web-2 updated", async () => {
      const st = await status(ns, "web");
      return st.updateRevision !== first && st.updatedReplicas === 1 && st.readyReplicas === 3;
    });
    const second = (await status(ns, "web")).updateRevision;
    expect((await pods.get(ns, "web-2")).metadata.labels?.["controller-revision-hash"]).toBe(second);
    expect((await pods.get(ns, "web-1")).metadata.labels?.["controller-revision-hash"]).toBe(first);
    expect((await status(ns, "web")).currentRevision).toBe(first);

    const rec = record(ns);
    await sets.patch(ns, "web", { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } }, "strategic");
    await eventually("rolled", async () => {
      const st = await status(ns, "web");
      return st.currentRevision === second && st.updatedReplicas === 3 && st.readyReplicas === 3;
    });
    rec.stop();
    expect(rec.log.filter((l) => l.startsWith("~"))).toEqual(["~web-1", "~web-0"]);

    // Back to the first template: its revision is reused and renumbered, not copied.
    await sets.patch(ns, "web", { spec: { template: { spec: { containers: [{ name: "c", image: "busybox:1" }] } } } }, "strategic");
    await eventually("rolled back", async () => {
      const st = await status(ns, "web");
      return st.currentRevision === first && st.updatedReplicas === 3 && st.readyReplicas === 3;
    });
    const revs = (await revisions.list(ns)).items.sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
    expect(revs.map((r) => [r.metadata.name, r.revision])).toEqual([
      [second, 2],
      [first, 3],
    ]);
  });

  test("maxUnavailable takes several pods out at once", async () => {
    const ns = "sts-maxunavail";
    await createNamespace(env.client, ns);
    await sets.create(ns, statefulSet("web", 4, { podManagementPolicy: "Parallel" }));
    await eventually("4 ready", async () => (await status(ns, "web")).readyReplicas === 4);
    kubelet.finishDeletes = false;
    const rec = record(ns);
    try {
      await sets.patch(ns, "web", {
        spec: { updateStrategy: { rollingUpdate: { maxUnavailable: 2 } }, template: { spec: { containers: [{ name: "c", image: "busybox:2" }] } } },
      }, "strategic");
      await eventually("two terminating", async () => rec.log.filter((l) => l.startsWith("~")).length >= 2);
      await Bun.sleep(300);
      expect(rec.log.filter((l) => !l.startsWith("+")).sort()).toEqual(["~web-2", "~web-3"]);
    } finally {
      kubelet.finishDeletes = true;
      kubelet.resync();
      rec.stop();
    }
    await eventually("all updated", async () => {
      const st = await status(ns, "web");
      return st.updatedReplicas === 4 && st.readyReplicas === 4 && st.currentRevision === st.updateRevision;
    });
  });

  test("OnDelete: a template change waits for the user to delete pods; a deleted pod comes back updated", async () => {
    const ns = "sts-ondelete";
    await createNamespace(env.client, ns);
    await sets.create(ns, statefulSet("web", 2, { updateStrategy: { type: "OnDelete" } }));
    await eventually("2 ready", async () => (await status(ns, "web")).readyReplicas === 2);
    const oldUid = (await pods.get(ns, "web-0")).metadata.uid;
    await sets.patch(ns, "web", { spec: { template: { spec: { containers: [{ name: "c", image: "busybox:2" }] } } } }, "strategic");
    await eventually("new update revision", async () => {
      const st = await status(ns, "web");
      return st.updateRevision !== st.currentRevision && st.observedGeneration === 2;
    });
    await Bun.sleep(200);
    expect((await pods.get(ns, "web-0")).metadata.uid).toBe(oldUid);
    await pods.delete(ns, "web-0");
    await eventually("web-0 back, updated", async () => {
      const st = await status(ns, "web");
      const pod = await pods.get(ns, "web-0").catch(() => undefined);
      return !!pod && pod.metadata.uid !== oldUid && pod.metadata.labels?.["controller-revision-hash"] === st.updateRevision && st.updatedReplicas === 1;
    });
  });

  test("adopts an orphan named for one of its ordinals, and replaces a failed pod", async () => {
    const ns = "sts-adopt";
    await createNamespace(env.client, ns);
    await pods.create(ns, { metadata: { name: "web-0", labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "busybox:1" }] } } as Pod);
    const orphanUid = (await pods.get(ns, "web-0")).metadata.uid;
    // OnDelete: a pod without a revision label would otherwise be rolled at once, as upstream.
    await sets.create(ns, statefulSet("web", 1, { updateStrategy: { type: "OnDelete" } }));
    await eventually("adopted", async () => controllerRefOf(await pods.get(ns, "web-0"))?.kind === "StatefulSet");
    await eventually("identity labels", async () => (await pods.get(ns, "web-0")).metadata.labels?.["statefulset.kubernetes.io/pod-name"] === "web-0");
    expect((await pods.get(ns, "web-0")).metadata.uid).toBe(orphanUid);

    kubelet.holdBack = (p) => p.metadata.namespace === ns;
    try {
      await pods.patch(ns, "web-0", { status: { phase: "Failed" } }, "merge", "status");
      await eventually("replaced", async () => {
        const p = await pods.get(ns, "web-0").catch(() => undefined);
        return !!p && p.metadata.uid !== orphanUid;
      });
    } finally {
      kubelet.holdBack = () => false;
      kubelet.resync();
    }
    await eventually("ready again", async () => (await status(ns, "web")).readyReplicas === 1);
  });

  test("minReadySeconds holds availability back", async () => {
    const ns = "sts-minready";
    await createNamespace(env.client, ns);
    await sets.create(ns, statefulSet("web", 1, { minReadySeconds: 1 }));
    await eventually("ready", async () => (await status(ns, "web")).readyReplicas === 1);
    await eventually("available", async () => (await status(ns, "web")).availableReplicas === 1);
  });

  test("a pod of an ordinal's name that the set does not control holds that ordinal, with a FailedCreate event, until it goes", async () => {
    const ns = "sts-foreign";
    await createNamespace(env.client, ns);
    await pods.create(ns, { metadata: { name: "web-1", labels: { app: "other" } }, spec: { containers: [{ name: "c", image: "busybox:1" }] } } as Pod);
    await sets.create(ns, statefulSet("web", 3, { podManagementPolicy: "Parallel" }));
    await eventually("web-0 and web-2 ready", async () => (await status(ns, "web")).readyReplicas === 2);
    const events = env.client.resource({ group: "", version: "v1", plural: "events", namespaced: true });
    await eventually("FailedCreate event", async () =>
      (await events.list(ns)).items.some((e: any) => e.reason === "FailedCreate" && e.message.startsWith("create Pod web-1 in StatefulSet web failed error:")),
    );
    expect(controllerRefOf(await pods.get(ns, "web-1"))).toBeUndefined();
    await pods.delete(ns, "web-1", { gracePeriodSeconds: 0 });
    await eventually("web-1 the set's", async () => {
      const p = await pods.get(ns, "web-1").catch(() => undefined);
      return controllerRefOf(p ?? ({ metadata: {} } as Pod))?.kind === "StatefulSet" && (await status(ns, "web")).readyReplicas === 3;
    });
  });
});
