import { describe, expect, test } from "bun:test";
import { defaultScaleDown, defaultScaleUp, type HPAScalingRules } from "../../../api/resources/autoscaling/horizontalpodautoscaler";
import { normalize, scaleDownLimit, scaleUpLimit, type BehaviorInput } from "./behavior";

const NOW = 1_000_000;
const input = (o: Partial<BehaviorInput>): BehaviorInput => ({
  currentReplicas: 2,
  desiredReplicas: 2,
  minReplicas: 1,
  maxReplicas: 10,
  scaleUp: defaultScaleUp(),
  scaleDown: defaultScaleDown(),
  recommendations: [],
  scaleUpEvents: [],
  scaleDownEvents: [],
  now: NOW,
  ...o,
});

describe("stabilization windows", () => {
  test("scale down takes the highest recommendation of the window", () => {
    const a = input({ currentReplicas: 5, desiredReplicas: 2, recommendations: [{ atMs: NOW - 100_000, replicas: 4 }, { atMs: NOW - 400_000, replicas: 9 }] });
    const n = normalize(a);
    expect(n.replicas).toBe(4); // 9 is older than 300 s
    expect(n.stabilized.reason).toBe("ScaleDownStabilized");
    expect(a.recommendations.at(-1)).toEqual({ atMs: NOW, replicas: 2 });
    expect(a.recommendations.some((r) => r.replicas === 9)).toBe(false);
  });

  test("a window of 0 scales down at once", () => {
    const n = normalize(input({ currentReplicas: 5, desiredReplicas: 2, scaleDown: defaultScaleDown(0), recommendations: [{ atMs: NOW - 1000, replicas: 5 }] }));
    expect(n.replicas).toBe(2);
    expect(n.stabilized.reason).toBe("ReadyForNewScale");
  });

  test("scale up takes the lowest recommendation of its window", () => {
    const up: HPAScalingRules = { ...defaultScaleUp(), stabilizationWindowSeconds: 60 };
    const n = normalize(input({ currentReplicas: 2, desiredReplicas: 8, scaleUp: up, recommendations: [{ atMs: NOW - 30_000, replicas: 3 }] }));
    expect(n.replicas).toBe(3);
    expect(n.stabilized.reason).toBe("ScaleUpStabilized");
  });
});

describe("scaling policies", () => {
  test("default scale up: the larger of +4 pods and +100% per 15 s", () => {
    expect(normalize(input({ currentReplicas: 1, desiredReplicas: 20 })).replicas).toBe(5);
    const n = normalize(input({ currentReplicas: 10, desiredReplicas: 50, maxReplicas: 100 }));
    expect(n.replicas).toBe(20);
    expect(n.limited.reason).toBe("ScaleUpLimit");
  });

  test("changes already made in a period count against it", () => {
    // 2 → 6 five seconds ago: the period started at 2, so +4 pods → 6 and +100% → 4: no more now.
    expect(scaleUpLimit(6, [{ atMs: NOW - 5000, change: 4 }], [], defaultScaleUp(), NOW)).toBe(6);
    expect(scaleUpLimit(6, [{ atMs: NOW - 20_000, change: 4 }], [], defaultScaleUp(), NOW)).toBe(12);
  });

  test("selectPolicy Min picks the smaller change, Disabled none", () => {
    const min: HPAScalingRules = { ...defaultScaleUp(), selectPolicy: "Min" };
    expect(scaleUpLimit(10, [], [], min, NOW)).toBe(14);
    const disabled: HPAScalingRules = { ...defaultScaleDown(0), selectPolicy: "Disabled" };
    const n = normalize(input({ currentReplicas: 5, desiredReplicas: 1, scaleDown: disabled }));
    expect(n.replicas).toBe(5);
  });

  test("scale down policies: Pods and Percent", () => {
    const rules: HPAScalingRules = { stabilizationWindowSeconds: 0, selectPolicy: "Max", policies: [{ type: "Pods", value: 1, periodSeconds: 60 }, { type: "Percent", value: 50, periodSeconds: 60 }] };
    expect(scaleDownLimit(10, [], [], rules, NOW)).toBe(5);
    expect(scaleDownLimit(10, [], [], { ...rules, selectPolicy: "Min" }, NOW)).toBe(9);
    const n = normalize(input({ currentReplicas: 10, desiredReplicas: 1, scaleDown: rules }));
    expect(n).toMatchObject({ replicas: 5, limited: { reason: "ScaleDownLimit" } });
  });

  test("minReplicas and maxReplicas bound the count", () => {
    expect(normalize(input({ currentReplicas: 4, desiredReplicas: 20, maxReplicas: 6 })).limited).toMatchObject({ replicas: 6, reason: "TooManyReplicas" });
    expect(normalize(input({ currentReplicas: 4, desiredReplicas: 1, minReplicas: 2, scaleDown: defaultScaleDown(0) })).limited).toMatchObject({ replicas: 2, reason: "TooFewReplicas" });
    expect(normalize(input({ currentReplicas: 4, desiredReplicas: 4 })).limited.reason).toBe("DesiredWithinRange");
  });
});
