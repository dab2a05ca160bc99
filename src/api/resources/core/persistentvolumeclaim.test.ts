import { describe, expect, test } from "bun:test";
import "../formats";
import { persistentVolumeClaims, type PersistentVolumeClaim } from "./persistentvolumeclaim";

const now = new Date("2024-05-01T12:00:00Z");

const pvc = (): PersistentVolumeClaim =>
  ({ metadata: { name: "data", namespace: "default", creationTimestamp: "2024-05-01T11:00:00Z" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }) as PersistentVolumeClaim;
const pvcMessages = (p: PersistentVolumeClaim, old?: PersistentVolumeClaim) =>
  [...persistentVolumeClaims.validate(p, old), ...(old ? persistentVolumeClaims.immutable!(p, old) : [])].map((e) => `${e.field}: ${e.message}`);

describe("persistentvolumeclaims", () => {
  test("defaults: Filesystem, Pending", () => {
    const p = pvc();
    persistentVolumeClaims.defaults(p);
    expect(p.spec!.volumeMode).toBe("Filesystem");
    expect(p.status).toEqual({ phase: "Pending" });
    expect(pvcMessages(p)).toEqual([]);
  });

  test("validation as upstream's ValidatePersistentVolumeClaimSpec", () => {
    const p = pvc();
    p.spec!.accessModes = [];
    p.spec!.resources = { requests: { storage: "0" } };
    p.spec!.volumeMode = "Raw";
    expect(pvcMessages(p)).toEqual([
      "spec.accessModes: Required value: at least 1 access mode is required",
      'spec.resources[storage]: Invalid value: "0": must be greater than zero',
      'spec.volumeMode: Unsupported value: "Raw": supported values: "Block", "Filesystem"',
    ]);
    const q = pvc();
    q.spec!.accessModes = ["ReadWriteOncePod", "ReadOnlyMany", "WriteSometimes"];
    delete q.spec!.resources;
    expect(pvcMessages(q)).toEqual([
      'spec.accessModes: Unsupported value: "WriteSometimes": supported values: "ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"',
      "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes",
      "spec.resources[storage]: Required value",
    ]);
  });

  test("the spec is fixed after creation except binding, a first storage class and growth of a bound claim", () => {
    const old = pvc();
    persistentVolumeClaims.defaults(old);
    const bind = structuredClone(old);
    bind.spec!.volumeName = "pv-1";
    bind.spec!.storageClassName = "local";
    expect(pvcMessages(bind, old)).toEqual([]);
    const grow = structuredClone(bind);
    grow.status = { phase: "Bound" };
    grow.spec!.resources!.requests!.storage = "2Gi";
    expect(pvcMessages(grow, { ...bind, status: { phase: "Bound" } })).toEqual([]);
    const modes = structuredClone(old);
    modes.spec!.accessModes = ["ReadWriteMany"];
    expect(pvcMessages(modes, old)).toEqual(["spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"]);
  });

  test("table as upstream: capacity and access modes only once bound", () => {
    const p = pvc();
    persistentVolumeClaims.defaults(p);
    expect(persistentVolumeClaims.table.columns.map((c) => c.name)).toEqual(["Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeAttributesClass", "Age", "VolumeMode"]);
    expect(persistentVolumeClaims.table.row(p, now)).toEqual(["data", "Pending", "", "", "", "", "<unset>", "60m", "Filesystem"]);
    p.spec!.volumeName = "pv-1";
    p.spec!.storageClassName = "local";
    p.status = { phase: "Bound", capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce", "ReadWriteMany"] };
    expect(persistentVolumeClaims.table.row(p, now)).toEqual(["data", "Bound", "pv-1", "1Gi", "RWO,RWX", "local", "<unset>", "60m", "Filesystem"]);
  });
});
