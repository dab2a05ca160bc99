import { expect, test } from "bun:test";
import type { Pod } from "../../api/resources/core/pod";
import { admitPod } from "./admit";

const pod = (spec: Partial<NonNullable<Pod["spec"]>> = {}, resources?: object): Pod =>
  ({ metadata: { name: "p", namespace: "default" }, spec: { containers: [{ name: "c", image: "busybox", resources }], ...spec } }) as Pod;
const burstable = pod({}, { requests: { memory: "64Mi" } });

test("no pressure: everything is admitted", () => {
  expect(admitPod(pod(), [])).toBeUndefined();
});

test("memory pressure alone: BestEffort pods are rejected unless they tolerate the memory-pressure taint; others are admitted", () => {
  expect(admitPod(pod(), ["MemoryPressure"])).toEqual({ reason: "Evicted", message: "Pod was rejected: The node had condition: [MemoryPressure]. " });
  expect(admitPod(burstable, ["MemoryPressure"])).toBeUndefined();
  expect(admitPod(pod({ tolerations: [{ key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" }] }), ["MemoryPressure"])).toBeUndefined();
  expect(admitPod(pod({ tolerations: [{ operator: "Exists" }] }), ["MemoryPressure"])).toBeUndefined();
  expect(admitPod(pod({ tolerations: [{ key: "node.kubernetes.io/disk-pressure", operator: "Exists" }] }), ["MemoryPressure"])).toBeDefined();
  expect(admitPod(pod({ tolerations: [{ key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoExecute" }] }), ["MemoryPressure"])).toBeDefined();
});

test("disk or PID pressure rejects every pod but critical ones, whatever it tolerates", () => {
  expect(admitPod(burstable, ["DiskPressure"])?.message).toBe("Pod was rejected: The node had condition: [DiskPressure]. ");
  expect(admitPod(burstable, ["MemoryPressure", "PIDPressure"])?.message).toBe("Pod was rejected: The node had condition: [MemoryPressure PIDPressure]. ");
  expect(admitPod(pod({ tolerations: [{ operator: "Exists" }] }), ["DiskPressure"])).toBeDefined();
  expect(admitPod(pod({ priority: 2_000_001_000 }), ["DiskPressure"])).toBeUndefined();
});
