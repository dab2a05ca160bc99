import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PersistentVolume } from "../../api/resources/core/persistentvolume";
import type { PersistentVolumeClaim } from "../../api/resources/core/persistentvolumeclaim";
import { localPathToClean } from "../storage/local-path-cleaner";
import { mountClaim, type ClaimSources } from "./claims";

const tmp = mkdtempSync(join(tmpdir(), "claims-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const claim = (name: string, volumeName?: string, phase = "Bound"): PersistentVolumeClaim => ({
  metadata: { name, namespace: "ns", uid: `uid-${name}` },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, ...(volumeName && { volumeName }) },
  status: { phase },
});
const volume = (name: string, spec: Partial<NonNullable<PersistentVolume["spec"]>>, annotations?: Record<string, string>): PersistentVolume => ({
  metadata: { name, ...(annotations && { annotations }) },
  spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], claimRef: { namespace: "ns", name: "c", uid: "uid-c" }, ...spec },
});
const sources = (claims: PersistentVolumeClaim[], volumes: PersistentVolume[]): ClaimSources => ({
  persistentVolumeClaim: async (n) => claims.find((c) => c.metadata.name === n),
  persistentVolume: async (n) => volumes.find((v) => v.metadata.name === n),
});

test("a local-path (hostPath DirectoryOrCreate) volume is created world-writable on first mount; readOnly is the pod's", async () => {
  const path = join(tmp, "storage", "pvc-1_ns_c");
  const src = sources([claim("c", "pvc-1")], [volume("pvc-1", { hostPath: { path, type: "DirectoryOrCreate" } }, { "pv.kubernetes.io/provisioned-by": "rancher.io/local-path" })]);
  expect(await mountClaim("c", false, "data", join(tmp, "pod"), src)).toEqual({ hostPath: path, readOnly: false });
  expect(statSync(path).mode & 0o777).toBe(0o777);
  expect((await mountClaim("c", true, "data", join(tmp, "pod"), src)).readOnly).toBe(true);
});

test("unbound, missing and misbound claims, missing local paths: clear errors", async () => {
  const vols = [volume("v", { local: { path: join(tmp, "nope") } }), volume("other", { hostPath: { path: tmp }, claimRef: { namespace: "ns", name: "x", uid: "uid-x" } })];
  const src = sources([claim("pending", undefined, "Pending"), claim("c", "v"), claim("lost", "gone"), { ...claim("c2", "other") }], vols);
  await expect(mountClaim("absent", false, "d", tmp, src)).rejects.toThrow('persistentvolumeclaim "absent" not found');
  await expect(mountClaim("pending", false, "d", tmp, src)).rejects.toThrow('persistentvolumeclaim "pending" is not bound');
  await expect(mountClaim("lost", false, "d", tmp, src)).rejects.toThrow('persistentvolume "gone" not found');
  await expect(mountClaim("c", false, "d", tmp, src)).rejects.toThrow("does not exist");
  await expect(mountClaim("c2", false, "d", tmp, src)).rejects.toThrow("bound to another claim");
});

test("nfs volumes go through the mounter under the pod's volume directory, with the volume's mount options", async () => {
  const calls: unknown[][] = [];
  const src = sources([claim("c", "nfs-pv")], [volume("nfs-pv", { nfs: { server: "10.0.0.5", path: "/export" }, mountOptions: ["nfsvers=4.1"] })]);
  const m = await mountClaim("c", true, "shared", join(tmp, "pod"), src, (...args) => void calls.push(args));
  expect(m).toEqual({ hostPath: join(tmp, "pod", "kubernetes.io~nfs", "shared"), readOnly: true });
  expect(calls).toEqual([["10.0.0.5", "/export", m.hostPath, false, ["nfsvers=4.1"]]]);
  const failing = () => {
    throw new Error("mount.nfs is not installed on this node");
  };
  await expect(mountClaim("c", false, "other", join(tmp, "pod"), src, failing)).rejects.toThrow("mount.nfs is not installed");
});

test("only released Delete local-path volumes of this node, in the provisioner's directories, are cleaned", () => {
  const ann = { "pv.kubernetes.io/provisioned-by": "rancher.io/local-path", "local.path.provisioner/selected-node": "n1" };
  const pv = (over: Partial<PersistentVolume> = {}, path = "/data/storage/pvc-1_ns_c"): PersistentVolume => ({
    ...volume("pvc-1", { hostPath: { path, type: "DirectoryOrCreate" }, persistentVolumeReclaimPolicy: "Delete" }, ann),
    status: { phase: "Released" },
    ...over,
  });
  expect(localPathToClean(pv(), "n1")).toBe("/data/storage/pvc-1_ns_c");
  expect(localPathToClean(pv(), "n2")).toBeUndefined();
  expect(localPathToClean(pv({ status: { phase: "Bound" } }), "n1")).toBeUndefined();
  expect(localPathToClean(pv({}, "/data/storage/../etc"), "n1")).toBeUndefined();
  expect(localPathToClean(pv({}, "/etc"), "n1")).toBeUndefined();
  const retained = pv();
  retained.spec!.persistentVolumeReclaimPolicy = "Retain";
  expect(localPathToClean(retained, "n1")).toBeUndefined();
  expect(existsSync(tmp)).toBe(true);
});

test("a ReadWriteOncePod volume is set up only when the node's hold on it is this pod's", async () => {
  const path = join(tmp, "rwop");
  const src = sources([claim("c", "single")], [volume("single", { accessModes: ["ReadWriteOncePod"], hostPath: { path, type: "DirectoryOrCreate" } })]);
  const held: string[] = [];
  await expect(mountClaim("c", false, "d", tmp, src, undefined, (v) => (held.push(v), true))).resolves.toEqual({ hostPath: path, readOnly: false });
  expect(held).toEqual(["single"]);
  await expect(mountClaim("c", false, "d", tmp, src, undefined, () => false)).rejects.toThrow("volume uses the ReadWriteOncePod access mode and is already in use by another pod");
  // Other access modes never ask.
  const rwo = sources([claim("c", "shared")], [volume("shared", { hostPath: { path, type: "DirectoryOrCreate" } })]);
  await expect(mountClaim("c", false, "d", tmp, rwo, undefined, () => false)).resolves.toEqual({ hostPath: path, readOnly: false });
});
