import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { nodes as nodesDef, type Node } from "../../../api/resources/core/node";
import { persistentVolumes as pvDef, type PersistentVolume } from "../../../api/resources/core/persistentvolume";
import { persistentVolumeClaims as pvcDef, type PersistentVolumeClaim } from "../../../api/resources/core/persistentvolumeclaim";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import { SELECTED_NODE_ANNOTATION } from "../../../api/storage-annotations";
import type { ResourceClient } from "../../../client/client";
import { eventually, getOrUndefined, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { SharedInformers } from "../informers";
import { PersistentVolumeController } from "./controller";

let env: ControllerTestEnv;
let shared: SharedInformers;
let controller: PersistentVolumeController;
let pvs: ResourceClient<PersistentVolume>;
let pvcs: ResourceClient<PersistentVolumeClaim>;
let podClient: ResourceClient<Pod>;

beforeAll(async () => {
  env = await startControllerTestEnv();
  shared = new SharedInformers(env.client);
  controller = new PersistentVolumeController(env.client, shared, { localStorageRoot: "/data/storage" });
  await controller.start();
  pvs = env.client.resource<PersistentVolume>(pvDef);
  pvcs = env.client.resource<PersistentVolumeClaim>(pvcDef);
  podClient = env.client.resource<Pod>(podsDef);
});

afterAll(async () => {
  await controller.stop();
  shared.stop();
  await env.stop();
});

const volume = (name: string, size: string, extra: Partial<NonNullable<PersistentVolume["spec"]>> = {}, labels?: Record<string, string>): PersistentVolume => ({
  metadata: { name, ...(labels && { labels }) },
  spec: { capacity: { storage: size }, accessModes: ["ReadWriteOnce"], storageClassName: "manual", hostPath: { path: `/srv/${name}` }, ...extra },
});

const claim = (name: string, size: string, extra: Partial<NonNullable<PersistentVolumeClaim["spec"]>> = {}): PersistentVolumeClaim => ({
  metadata: { name },
  spec: { accessModes: ["ReadWriteOnce"], storageClassName: "manual", resources: { requests: { storage: size } }, ...extra },
});

const phaseOf = async (name: string) => (await getOrUndefined(pvs.get(undefined, name)))?.status?.phase;

describe("static binding", () => {
  test("the smallest Available volume of the class that fits size and access modes", async () => {
    await pvs.create(undefined, volume("sb-1gi", "1Gi"));
    await pvs.create(undefined, volume("sb-5gi", "5Gi"));
    await pvs.create(undefined, volume("sb-3gi-rox", "3Gi", { accessModes: ["ReadOnlyMany"] }));
    await pvs.create(undefined, volume("sb-3gi-other", "3Gi", { storageClassName: "other" }));
    await pvs.create(undefined, volume("sb-20gi", "20Gi"));
    await eventually(async () => (await phaseOf("sb-5gi")) === "Available", "volumes Available");
    await pvcs.create("default", claim("sb-claim", "2Gi"));
    const bound = await eventually(async () => {
      const c = await pvcs.get("default", "sb-claim");
      return c.status?.phase === "Bound" ? c : undefined;
    }, "claim Bound");
    expect(bound.spec?.volumeName).toBe("sb-5gi");
    expect(bound.status?.capacity).toEqual({ storage: "5Gi" });
    expect(bound.status?.accessModes).toEqual(["ReadWriteOnce"]);
    expect(bound.metadata.annotations?.["pv.kubernetes.io/bind-completed"]).toBe("yes");
    expect(bound.metadata.finalizers).toContain("kubernetes.io/pvc-protection");
    const pv = await eventually(async () => {
      const v = await pvs.get(undefined, "sb-5gi");
      return v.status?.phase === "Bound" ? v : undefined;
    }, "volume Bound");
    expect(pv.spec?.claimRef).toMatchObject({ namespace: "default", name: "sb-claim", uid: bound.metadata.uid });
    expect(pv.metadata.finalizers).toContain("kubernetes.io/pv-protection");
    expect(await phaseOf("sb-1gi")).toBe("Available");
  });

  test("a selector and the volume mode narrow the choice", async () => {
    await pvs.create(undefined, volume("sel-fast", "2Gi", {}, { speed: "fast" }));
    await pvs.create(undefined, volume("sel-slow", "1Gi", {}, { speed: "slow" }));
    await pvs.create(undefined, volume("sel-block", "1Gi", { volumeMode: "Block" }, { speed: "fast" }));
    await eventually(async () => (await phaseOf("sel-fast")) === "Available");
    await pvcs.create("default", claim("sel-claim", "1Gi", { selector: { matchLabels: { speed: "fast" } } }));
    const c = await eventually(async () => (await pvcs.get("default", "sel-claim")).spec?.volumeName, "claim bound");
    expect(c).toBe("sel-fast");
  });

  test("a claim naming its volume gets it; released with Retain, Failed with Delete and no plugin", async () => {
    await pvs.create(undefined, volume("pre-retain", "1Gi"));
    await pvs.create(undefined, volume("pre-delete", "1Gi", { persistentVolumeReclaimPolicy: "Delete" }));
    await pvcs.create("default", claim("pre-a", "1Gi", { volumeName: "pre-retain" }));
    await pvcs.create("default", claim("pre-b", "1Gi", { volumeName: "pre-delete" }));
    await eventually(async () => (await phaseOf("pre-retain")) === "Bound" && (await phaseOf("pre-delete")) === "Bound", "both Bound");
    await pvcs.delete("default", "pre-a");
    await pvcs.delete("default", "pre-b");
    await eventually(async () => (await phaseOf("pre-retain")) === "Released", "Retain: Released");
    const failed = await eventually(async () => {
      const v = await pvs.get(undefined, "pre-delete");
      return v.status?.phase === "Failed" ? v : undefined;
    }, "Delete without a plugin: Failed");
    expect(failed.status?.message).toContain("no deletable volume plugin matched");
  });

  test("an unbound claim with no class waits with upstream's event", async () => {
    await pvcs.create("default", claim("nothing-fits", "100Ti", { storageClassName: "" }));
    const events = env.client.resource({ group: "", version: "v1", plural: "events", kind: "Event", namespaced: true } as never);
    const ev = await eventually(async () => (await events.list("default")).items.find((e: any) => e.involvedObject?.name === "nothing-fits"), "event");
    expect((ev as any).reason).toBe("FailedBinding");
    expect((await pvcs.get("default", "nothing-fits")).status?.phase).toBe("Pending");
  });
});

describe("protection finalizers", () => {
  test("a claim used by a pod stays until the pod is gone; a bound volume until its claim is", async () => {
    await pvs.create(undefined, volume("prot-pv", "1Gi", { storageClassName: "prot" }));
    await pvcs.create("default", claim("prot-claim", "1Gi", { storageClassName: "prot" }));
    await eventually(async () => (await phaseOf("prot-pv")) === "Bound", "bound");
    await podClient.create("default", {
      metadata: { name: "prot-user" },
      spec: { containers: [{ name: "c", image: "busybox" }], volumes: [{ name: "data", persistentVolumeClaim: { claimName: "prot-claim" } }] },
    } as Pod);
    await pvs.delete(undefined, "prot-pv");
    await pvcs.delete("default", "prot-claim");
    await Bun.sleep(300);
    const held = await pvcs.get("default", "prot-claim");
    expect(held.metadata.deletionTimestamp).toBeDefined();
    expect((await pvs.get(undefined, "prot-pv")).metadata.deletionTimestamp).toBeDefined();
    await podClient.delete("default", "prot-user", { gracePeriodSeconds: 0 });
    await eventually(async () => !(await getOrUndefined(pvcs.get("default", "prot-claim"))), "claim gone");
    await eventually(async () => !(await getOrUndefined(pvs.get(undefined, "prot-pv"))), "volume gone");
  });
});

describe("local-path provisioning", () => {
  test("a default-class claim waits for a node, then gets a hostPath volume pinned to it", async () => {
    await env.client.resource<Node>(nodesDef).create(undefined, { metadata: { name: "lp-node", labels: { "kubernetes.io/hostname": "lp-node" } } } as Node);
    const created = await pvcs.create("default", { metadata: { name: "lp-claim" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } });
    expect(created.spec?.storageClassName).toBe("local-path"); // DefaultStorageClass admission
    await Bun.sleep(200);
    expect((await pvcs.get("default", "lp-claim")).spec?.volumeName).toBeUndefined();
    await pvcs.patch("default", "lp-claim", { metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: "lp-node" } } });
    const bound = await eventually(async () => {
      const c = await pvcs.get("default", "lp-claim");
      return c.status?.phase === "Bound" ? c : undefined;
    }, "claim Bound");
    const pv = await pvs.get(undefined, bound.spec!.volumeName!);
    expect(pv.metadata.name).toBe(`pvc-${created.metadata.uid}`);
    expect(pv.spec?.hostPath).toEqual({ path: `/data/storage/pvc-${created.metadata.uid}_default_lp-claim`, type: "DirectoryOrCreate" });
    expect(pv.spec?.persistentVolumeReclaimPolicy).toBe("Delete");
    expect(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms).toEqual([{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["lp-node"] }] }]);
    expect(pv.metadata.annotations?.["pv.kubernetes.io/provisioned-by"]).toBe("rancher.io/local-path");
    // Released on claim deletion; the node's kubelet (not here) removes the data and the volume.
    await pvcs.delete("default", "lp-claim");
    await eventually(async () => (await phaseOf(pv.metadata.name!)) === "Released", "Released");
  });
});

describe("expansion", () => {
  test("a bound claim grown in a class allowing expansion keeps its capacity, with upstream's ExternalExpanding event", async () => {
    await env.client.resource({ group: "storage.k8s.io", version: "v1", plural: "storageclasses", kind: "StorageClass", namespaced: false } as never).create(undefined, {
      metadata: { name: "grows" },
      provisioner: "x.io/none",
      allowVolumeExpansion: true,
    } as never);
    await pvs.create(undefined, volume("ex-pv", "1Gi", { storageClassName: "grows" }));
    await pvcs.create("default", claim("ex-claim", "1Gi", { storageClassName: "grows" }));
    const bound = await eventually(async () => {
      const c = await pvcs.get("default", "ex-claim");
      return c.status?.phase === "Bound" ? c : undefined;
    }, "claim Bound");
    await pvcs.patch("default", "ex-claim", { spec: { resources: { requests: { storage: "3Gi" } } } });
    const events = env.client.resource({ group: "", version: "v1", plural: "events", kind: "Event", namespaced: true } as never);
    const ev: any = await eventually(async () => (await events.list("default")).items.find((e: any) => e.involvedObject?.uid === bound.metadata.uid && e.reason === "ExternalExpanding"), "event");
    expect(ev).toMatchObject({ type: "Normal", message: "waiting for an external controller to expand this PVC", source: { component: "volume_expand" } });
    const after = await pvcs.get("default", "ex-claim");
    expect(after.spec?.resources?.requests?.storage).toBe("3Gi");
    expect(after.status?.capacity?.storage).toBe("1Gi");
    expect((await pvs.get(undefined, "ex-pv")).spec?.capacity?.storage).toBe("1Gi");
  });
});

test("a volume reserved for a claim of a WaitForFirstConsumer class is bound without waiting for a pod", async () => {
  await pvs.create(undefined, volume("wffc-reserved", "1Gi", { storageClassName: "local-path", claimRef: { namespace: "default", name: "wffc-claim" } }));
  await pvcs.create("default", claim("wffc-claim", "1Gi", { storageClassName: "local-path" }));
  const bound = await eventually(async () => {
    const c = await pvcs.get("default", "wffc-claim");
    return c.status?.phase === "Bound" ? c : undefined;
  }, "claim Bound");
  expect(bound.spec?.volumeName).toBe("wffc-reserved");
});
