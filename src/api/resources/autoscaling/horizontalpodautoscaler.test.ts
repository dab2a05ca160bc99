import { describe, expect, test } from "bun:test";
import { formatHpaTargets, horizontalPodAutoscalers as def, type HorizontalPodAutoscaler } from "./horizontalpodautoscaler";

const hpa = (spec: Record<string, unknown>, status?: Record<string, unknown>): HorizontalPodAutoscaler =>
  ({ apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "web", namespace: "default" }, spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, maxReplicas: 5, ...spec }, status }) as HorizontalPodAutoscaler;
const fields = (h: HorizontalPodAutoscaler) => def.validate(h).map((e) => `${e.field}: ${e.message.replace(/^(Invalid value: [^:]*|Required value|Forbidden|Unsupported value: [^:]*)(: )?/, "")}`);

describe("HorizontalPodAutoscaler", () => {
  test("defaults: minReplicas 1, 80% CPU, and the behavior's rules when it is set", () => {
    const h = hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 5 } } });
    def.defaults(h);
    expect(h.spec!.minReplicas).toBe(1);
    expect(h.spec!.metrics).toEqual([{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }]);
    expect(h.spec!.behavior!.scaleDown).toEqual({ stabilizationWindowSeconds: 5, selectPolicy: "Max", policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] });
    expect(h.spec!.behavior!.scaleUp!.policies).toHaveLength(2);
    const plain = hpa({});
    def.defaults(plain);
    expect(plain.spec!.behavior).toBeUndefined();
  });

  test("validation as upstream's", () => {
    expect(fields(hpa({ minReplicas: 0, maxReplicas: 0 }))).toEqual(["spec.minReplicas: must be greater than or equal to 1", "spec.maxReplicas: must be greater than 0"]);
    expect(fields(hpa({ minReplicas: 6 }))).toEqual(["spec.maxReplicas: must be greater than or equal to `minReplicas`"]);
    expect(fields(hpa({ scaleTargetRef: { kind: "", name: "a/b" } }))).toEqual(["spec.scaleTargetRef.kind: ", "spec.scaleTargetRef.name: may not contain '/'"]);
    const metric = (m: unknown) => fields(hpa({ metrics: [m] }));
    expect(metric({ type: "Resource", resource: { name: "cpu", target: { type: "Utilization" } } })).toEqual([
      "spec.metrics[0].resource.target.averageUtilization: must set either a target raw value or a target utilization",
    ]);
    expect(metric({ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 0 } } })).toContain("spec.metrics[0].resource.target.averageUtilization: must be greater than 0");
    expect(metric({ type: "Pods", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 5 } } })).toContain("spec.metrics[0].pods: must populate information for the given metric source");
    expect(metric({ type: "Bogus" })[0]).toStartWith("spec.metrics[0].type: supported values:");
    expect(fields(hpa({ behavior: { scaleUp: { stabilizationWindowSeconds: 4000, selectPolicy: "Any", policies: [{ type: "Pods", value: 0, periodSeconds: 2000 }] } } }))).toEqual([
      "spec.behavior.scaleUp.stabilizationWindowSeconds: must be less than or equal to 3600",
      expect.stringMatching(/^spec.behavior.scaleUp.selectPolicy: supported values/),
      "spec.behavior.scaleUp.policies[0].value: must be greater than zero",
      "spec.behavior.scaleUp.policies[0].periodSeconds: must be less than or equal to 1800",
    ]);
  });

  test("table: REFERENCE and TARGETS as upstream's printer", () => {
    const h = hpa(
      { minReplicas: 1, metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }, { type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } } }] },
      { currentReplicas: 2, desiredReplicas: 2, currentMetrics: [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 45, averageValue: "45m" } } }] },
    );
    expect(formatHpaTargets(h)).toBe("cpu: 45%/50%, memory: <unknown>/100Mi");
    const row = def.table.row(h, new Date());
    expect(row.slice(0, 6)).toEqual(["web", "Deployment/web", "cpu: 45%/50%, memory: <unknown>/100Mi", "1", 5, 2]);
    expect(formatHpaTargets(hpa({ metrics: [] }))).toBe("<none>");
  });
});
