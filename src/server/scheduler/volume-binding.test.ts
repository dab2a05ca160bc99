import { expect, test } from "bun:test";
import type { PersistentVolume } from "../../api/resources/core/persistentvolume";
import type { PersistentVolumeClaim } from "../../api/resources/core/persistentvolumeclaim";
import type { Pod } from "../../api/resources/core/pod";
import type { StorageClass } from "../../api/resources/storage/storageclass";
import type { NodeInfo } from "./types";
import { NO_VOLUME_TO_BIND, resolveClaims, RWOP_CONFLICT, UNBOUND_IMMEDIATE_CLAIMS, VOLUME_NODE_CONFLICT, type StorageLookup } from "./volume-binding";

const pod = (...claims: string[]): Pod => ({ metadata: { name: "p", namespace: "ns" }, spec: { containers: [], volumes: claims.map((c, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: c } })) } }) as Pod;
const claim = (name: string, spec: Partial<NonNullable<PersistentVolumeClaim["spec"]>>, annotations?: Record<string, string>): PersistentVolumeClaim => ({
  metadata: { name, namespace: "ns", uid: `uid-${name}`, ...(annotations && { annotations }) },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, ...spec },
});
const pinnedTo = (node: string) => ({ required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }] }] } });
const node = (name: string) => ({ name, labels: { "kubernetes.io/hostname": name } }) as unknown as NodeInfo;

const volumes: PersistentVolume[] = [
  { metadata: { name: "on-a" }, spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/a" }, nodeAffinity: pinnedTo("a") }, status: { phase: "Bound" } },
  { metadata: { name: "free-on-b" }, spec: { capacity: { storage: "5Gi" }, accessModes: ["ReadWriteOnce"], storageClassName: "static", local: { path: "/b" }, nodeAffinity: pinnedTo("b") }, status: { phase: "Available" } },
];
const classes: Record<string, StorageClass> = {
  wait: { metadata: { name: "wait" }, provisioner: "rancher.io/local-path", volumeBindingMode: "WaitForFirstConsumer" },
  static: { metadata: { name: "static" }, provisioner: "kubernetes.io/no-provisioner", volumeBindingMode: "WaitForFirstConsumer" },
};
const storage: StorageLookup = { volume: (n) => volumes.find((v) => v.metadata.name === n), volumes: () => volumes, storageClass: (n) => classes[n] };

test("missing, immediate-unbound and ReadWriteOncePod-in-use claims keep the pod out everywhere", () => {
  expect(resolveClaims(pod("x"), () => undefined, storage).problem).toBe('persistentvolumeclaim "x" not found');
  expect(resolveClaims(pod("c"), () => claim("c", { storageClassName: "" }), storage).problem).toBe(UNBOUND_IMMEDIATE_CLAIMS);
  const rwop = claim("c", { accessModes: ["ReadWriteOncePod"], volumeName: "on-a" });
  expect(resolveClaims(pod("c"), () => rwop, storage, () => 1).problem).toBe(RWOP_CONFLICT);
  expect(resolveClaims(pod("c"), () => rwop, storage, () => 0).problem).toBeUndefined();
});

test("bound volumes' node affinity, a claim's selected node and static volumes filter nodes", () => {
  const bound = resolveClaims(pod("c"), () => claim("c", { volumeName: "on-a" }), storage);
  expect(bound.filter!(node("a"))).toBeUndefined();
  expect(bound.filter!(node("b"))).toEqual([VOLUME_NODE_CONFLICT]);

  const waiting = resolveClaims(pod("c"), () => claim("c", { storageClassName: "wait" }), storage);
  expect(waiting.problem).toBeUndefined();
  expect(waiting.delayed.map((c) => c.metadata.name)).toEqual(["c"]);
  expect(waiting.filter).toBeUndefined(); // the provisioner can make a volume on any node

  const pinned = resolveClaims(pod("c"), () => claim("c", { storageClassName: "wait" }, { "volume.kubernetes.io/selected-node": "b" }), storage);
  expect(pinned.filter!(node("a"))).toEqual([VOLUME_NODE_CONFLICT]);
  expect(pinned.filter!(node("b"))).toBeUndefined();

  const fixed = resolveClaims(pod("c"), () => claim("c", { storageClassName: "static" }), storage);
  expect(fixed.filter!(node("a"))).toEqual([NO_VOLUME_TO_BIND]);
  expect(fixed.filter!(node("b"))).toBeUndefined();
});
