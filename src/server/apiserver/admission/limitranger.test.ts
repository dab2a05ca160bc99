import { describe, expect, test } from "bun:test";
import { ApiError } from "../../../api/errors";
import type { LimitRange } from "../../../api/resources/core/limitrange";
import { pods, type Pod } from "../../../api/resources/core/pod";
import { aggregate, LimitRanger, LIMIT_RANGER_ANNOTATION, validateClaim } from "./limitranger";

const lr = (limits: NonNullable<LimitRange["spec"]>["limits"]): LimitRange => ({ metadata: { name: "limits", namespace: "ns" }, spec: { limits } });
const pod = (containers: NonNullable<Pod["spec"]>["containers"]): Pod => ({ metadata: { name: "p", namespace: "ns" }, spec: { containers }, status: { qosClass: "BestEffort" } });
const admit = (ranges: LimitRange[], p: Pod) => new LimitRanger(() => ranges).admit("create", pods, p);
const refusal = (f: () => unknown): ApiError => {
  try {
    f();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("admitted");
};

describe("LimitRanger", () => {
  test("fills missing requests and limits from Container defaults and says so in the annotation", () => {
    const p = pod([
      { name: "a", image: "busybox" },
      { name: "b", image: "busybox", resources: { limits: { cpu: "300m" }, requests: { cpu: "300m" } } },
    ]);
    admit([lr([{ type: "Container", default: { cpu: "500m", memory: "128Mi" }, defaultRequest: { cpu: "100m", memory: "64Mi" } }])], p);
    expect(p.spec!.containers[0]!.resources).toEqual({ limits: { cpu: "500m", memory: "128Mi" }, requests: { cpu: "100m", memory: "64Mi" } });
    expect(p.spec!.containers[1]!.resources).toEqual({ limits: { cpu: "300m", memory: "128Mi" }, requests: { cpu: "300m", memory: "64Mi" } });
    expect(p.metadata.annotations![LIMIT_RANGER_ANNOTATION]).toBe(
      "LimitRanger plugin set: cpu, memory request for container a; cpu, memory limit for container a; memory request for container b; memory limit for container b",
    );
    expect(p.status!.qosClass).toBe("Burstable");
  });

  test("max, min and ratio per Container, refused as upstream words it", () => {
    const ranges = [lr([{ type: "Container", max: { cpu: "1" }, min: { memory: "32Mi" }, maxLimitRequestRatio: { cpu: "2" } }])];
    const e = refusal(() => admit(ranges, pod([{ name: "c", image: "x", resources: { limits: { cpu: "2", memory: "64Mi" }, requests: { cpu: "500m", memory: "64Mi" } } }])));
    expect(e.code).toBe(403);
    expect(e.reason).toBe("Forbidden");
    expect(e.message).toBe('pods "p" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000]');
    const one = refusal(() => admit(ranges, pod([{ name: "c", image: "x", resources: { limits: { cpu: "1" }, requests: { cpu: "1", memory: "16Mi" } } }])));
    expect(one.message).toBe('pods "p" is forbidden: minimum memory usage per Container is 32Mi, but request is 16Mi');
    const none = refusal(() => admit([lr([{ type: "Container", max: { memory: "1Gi" } }])], pod([{ name: "c", image: "x", resources: { limits: { cpu: "1" } } }]))).message;
    expect(none).toBe('pods "p" is forbidden: maximum memory usage per Container is 1Gi.  No limit is specified');
  });

  test("a defaulted limit below the pod's own request is invalid, as validation after defaulting finds", () => {
    const e = refusal(() => admit([lr([{ type: "Container", default: { cpu: "1" } }])], pod([{ name: "c", image: "x", resources: { requests: { cpu: "2" } } }])));
    expect(e.code).toBe(422);
  });

  test("Pod items bound the sum of the containers", () => {
    const e = refusal(() =>
      admit(
        [lr([{ type: "Pod", max: { cpu: "1" } }])],
        pod([
          { name: "a", image: "x", resources: { limits: { cpu: "600m" } } },
          { name: "b", image: "x", resources: { limits: { cpu: "600m" } } },
        ]),
      ),
    );
    expect(e.message).toBe('pods "p" is forbidden: maximum cpu usage per Pod is 1, but limit is 1200m');
  });

  test("claims: storage request within min and max", () => {
    const range = lr([{ type: "PersistentVolumeClaim", min: { storage: "1Gi" }, max: { storage: "5Gi" } }]);
    expect(validateClaim(range, { metadata: {}, spec: { resources: { requests: { storage: "10Gi" } } } })).toEqual(["maximum storage usage per PersistentVolumeClaim is 5Gi, but request is 10Gi"]);
    expect(validateClaim(range, { metadata: {}, spec: { resources: { requests: { storage: "2Gi" } } } })).toEqual([]);
  });

  test("aggregate text", () => {
    expect(aggregate(["a"])).toBe("a");
    expect(aggregate(["a", "b", "a"])).toBe("[a, b]");
  });
});
