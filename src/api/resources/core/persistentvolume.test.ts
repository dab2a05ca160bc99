import { describe, expect, test } from "bun:test";
import "../formats";
import { storageClasses, type StorageClass } from "../storage/storageclass";
import { persistentVolumes, type PersistentVolume } from "./persistentvolume";

const now = new Date("2024-05-01T12:00:00Z");
const pv = (spec: Partial<NonNullable<PersistentVolume["spec"]>> = {}): PersistentVolume => ({
  metadata: { name: "disk", creationTimestamp: "2024-05-01T11:00:00Z" },
  spec: { capacity: { storage: "10Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/srv/disk" }, ...spec },
});
const messages = (p: PersistentVolume, old?: PersistentVolume) => [...persistentVolumes.validate(p, old), ...(old ? persistentVolumes.immutable!(p, old) : [])].map((e) => `${e.field}: ${e.message}`);
const scMessages = (sc: StorageClass, old?: StorageClass) => storageClasses.validate(sc, old).map((e) => `${e.field}: ${e.message}`);

describe("persistentvolumes", () => {
  test("defaults: Retain, Filesystem, Pending; cluster-scoped with short name pv", () => {
    const p = pv();
    persistentVolumes.defaults(p);
    expect(p.spec).toMatchObject({ persistentVolumeReclaimPolicy: "Retain", volumeMode: "Filesystem" });
    expect(p.status).toEqual({ phase: "Pending" });
    expect(messages(p)).toEqual([]);
    expect(persistentVolumes.namespaced).toBe(false);
    expect(persistentVolumes.shortNames).toEqual(["pv"]);
  });

  test("validation as upstream's ValidatePersistentVolume", () => {
    expect(messages({ metadata: { name: "x" }, spec: {} })).toEqual([
      "spec.accessModes: Required value: must specify at least 1 access mode",
      "spec.capacity: Required value",
      "spec: Required value: must specify a volume type",
    ]);
    expect(messages(pv({ capacity: { storage: "0", cpu: "1" }, accessModes: ["ReadWriteOncePod", "ReadWriteOnce"], persistentVolumeReclaimPolicy: "Shred", nfs: { server: "", path: "export" } }))).toEqual([
      "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes",
      'spec.capacity: Unsupported value: {"storage":"0","cpu":"1"}: supported values: "storage"',
      'spec.capacity[storage]: Invalid value: "0": must be greater than zero',
      'spec.persistentVolumeReclaimPolicy: Unsupported value: "Shred": supported values: "Delete", "Recycle", "Retain"',
      "spec.nfs: Forbidden: may not specify more than 1 volume type",
      "spec.nfs.server: Required value",
      'spec.nfs.path: Invalid value: "export": must be an absolute path',
    ]);
    expect(messages(pv({ hostPath: undefined, local: { path: "/mnt/../etc" } }))).toEqual([
      'spec.local.path: Invalid value: "/mnt/../etc": must not contain \'..\'',
      "spec.nodeAffinity: Required value: Local volume requires node affinity",
    ]);
    expect(messages(pv({ mountOptions: ["hard"], nodeAffinity: {} }))).toEqual([
      "spec.mountOptions: Forbidden: may not specify mount options for this volume type",
      "spec.nodeAffinity.required: Required value: must specify required node constraints",
    ]);
  });

  test("the source, volume mode and node affinity are fixed; claimRef and class may change", () => {
    const old = pv({ volumeMode: "Filesystem", nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "a", operator: "Exists" }] }] } } });
    const next = structuredClone(old);
    next.spec!.claimRef = { namespace: "ns", name: "c" };
    next.spec!.storageClassName = "fast";
    expect(messages(next, old)).toEqual([]);
    next.spec!.hostPath = { path: "/elsewhere" };
    next.spec!.volumeMode = "Block";
    next.spec!.nodeAffinity = undefined;
    expect(messages(next, old).map((m) => m.split(":")[0])).toEqual(["spec.persistentvolumesource", "spec.volumeMode", "spec.nodeAffinity"]);
  });

  test("table as upstream's: claim as namespace/name, Terminating while deleted", () => {
    const p = pv({ persistentVolumeReclaimPolicy: "Delete", claimRef: { namespace: "ns", name: "data" }, storageClassName: "local-path" });
    p.status = { phase: "Bound" };
    expect(persistentVolumes.table.columns.filter((c) => c.priority === 0).map((c) => c.name)).toEqual([
      "Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass", "VolumeAttributesClass", "Reason", "Age",
    ]);
    expect(persistentVolumes.table.row(p, now)).toEqual(["disk", "10Gi", "RWO", "Delete", "Bound", "ns/data", "local-path", "<unset>", "", "60m", "<unset>"]);
    p.metadata.deletionTimestamp = "2024-05-01T11:59:00Z";
    expect(persistentVolumes.table.row(p, now)[4]).toBe("Terminating");
  });
});

describe("storageclasses", () => {
  const sc = (over: Partial<StorageClass> = {}): StorageClass => ({ metadata: { name: "fast", creationTimestamp: "2024-05-01T11:00:00Z" }, provisioner: "example.com/disk", ...over });

  test("defaults Delete and Immediate; provisioner and binding mode checked", () => {
    const s = sc();
    storageClasses.defaults(s);
    expect(s).toMatchObject({ reclaimPolicy: "Delete", volumeBindingMode: "Immediate" });
    expect(scMessages(s)).toEqual([]);
    expect(scMessages(sc({ provisioner: "", reclaimPolicy: "Recycle", volumeBindingMode: "Later" }))).toEqual([
      "provisioner: Required value",
      'reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"',
      'volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"',
    ]);
  });

  test("parameters, provisioner, reclaim policy and binding mode are fixed", () => {
    const old = sc({ reclaimPolicy: "Delete", volumeBindingMode: "Immediate", parameters: { a: "1" } });
    const next = sc({ reclaimPolicy: "Retain", volumeBindingMode: "WaitForFirstConsumer", parameters: { a: "2" }, provisioner: "other.io/x", allowVolumeExpansion: true });
    expect(scMessages(next, old)).toEqual([
      "parameters: Forbidden: updates to parameters are forbidden.",
      "provisioner: Forbidden: updates to provisioner are forbidden.",
      "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.",
      'volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable',
    ]);
  });

  test("table: (default) after the default class's name", () => {
    const s = sc({ reclaimPolicy: "Delete", volumeBindingMode: "WaitForFirstConsumer", metadata: { name: "local-path", creationTimestamp: "2024-05-01T11:00:00Z", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } } });
    expect(storageClasses.table.row(s, now)).toEqual(["local-path (default)", "example.com/disk", "Delete", "WaitForFirstConsumer", false, "60m"]);
  });
});
