import { describe, expect, test } from "bun:test";
import type { KubeObject } from "../../meta";
import { BEHAVIOR_ANNOTATION, CONDITIONS_ANNOTATION, CURRENT_METRICS_ANNOTATION, hpaFromV1, hpaToV1, METRICS_ANNOTATION } from "./hpa-v1";

const meta = { name: "web", namespace: "default", uid: "u1", resourceVersion: "7", annotations: { team: "a" } };
const ref = { apiVersion: "apps/v1", kind: "Deployment", name: "web" };

/** A v2 object using every metric source, behavior, conditions and current metrics. */
const fullV2 = (): KubeObject =>
  ({
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: structuredClone(meta),
    spec: {
      scaleTargetRef: ref,
      minReplicas: 2,
      maxReplicas: 9,
      metrics: [
        { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } } },
        { type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } } },
        { type: "ContainerResource", containerResource: { name: "cpu", container: "app", target: { type: "Utilization", averageUtilization: 70 } } },
        { type: "Pods", pods: { metric: { name: "rps", selector: { matchLabels: { a: "b" } } }, target: { type: "AverageValue", averageValue: "10" } } },
        { type: "Object", object: { describedObject: { apiVersion: "v1", kind: "Service", name: "s" }, metric: { name: "hits" }, target: { type: "Value", value: "5" } } },
        { type: "External", external: { metric: { name: "queue" }, target: { type: "AverageValue", averageValue: "3" } } },
      ],
      behavior: {
        scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: "Max", policies: [{ type: "Pods", value: 4, periodSeconds: 15 }] },
        scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: "Min", policies: [{ type: "Percent", value: 10, periodSeconds: 60 }] },
      },
    },
    status: {
      observedGeneration: 3,
      lastScaleTime: "2026-01-01T00:00:00Z",
      currentReplicas: 3,
      desiredReplicas: 4,
      currentMetrics: [
        { type: "Resource", resource: { name: "cpu", current: { averageUtilization: 45, averageValue: "45m" } } },
        { type: "Object", object: { describedObject: { apiVersion: "v1", kind: "Service", name: "s" }, metric: { name: "hits" }, current: { value: "4" } } },
      ],
      conditions: [{ type: "AbleToScale", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z", reason: "ReadyForNewScale", message: "ok" }],
    },
  }) as KubeObject;

describe("autoscaling/v1 HorizontalPodAutoscaler conversion", () => {
  test("v2 → v1: the CPU target in its field, the rest in upstream's annotations", () => {
    const v2 = fullV2();
    const v1 = hpaToV1(v2) as any;
    expect(v2).toEqual(fullV2()); // the stored object is not changed
    expect(v1.apiVersion).toBe("autoscaling/v1");
    expect(v1.spec).toEqual({ scaleTargetRef: ref, minReplicas: 2, maxReplicas: 9, targetCPUUtilizationPercentage: 60 });
    expect(v1.status).toEqual({ observedGeneration: 3, lastScaleTime: "2026-01-01T00:00:00Z", currentReplicas: 3, desiredReplicas: 4, currentCPUUtilizationPercentage: 45 });
    const a = v1.metadata.annotations;
    expect(a.team).toBe("a");
    expect(JSON.parse(a[METRICS_ANNOTATION])).toEqual([
      { type: "Resource", resource: { name: "memory", targetAverageValue: "100Mi" } },
      { type: "ContainerResource", containerResource: { name: "cpu", targetAverageUtilization: 70, container: "app" } },
      { type: "Pods", pods: { metricName: "rps", targetAverageValue: "10", selector: { matchLabels: { a: "b" } } } },
      { type: "Object", object: { target: { apiVersion: "v1", kind: "Service", name: "s" }, metricName: "hits", targetValue: "5" } },
      { type: "External", external: { metricName: "queue", targetAverageValue: "3" } },
    ]);
    expect(JSON.parse(a[BEHAVIOR_ANNOTATION]).ScaleDown).toEqual({ StabilizationWindowSeconds: 300, SelectPolicy: "Min", Policies: [{ Type: "Percent", Value: 10, PeriodSeconds: 60 }] });
    expect(JSON.parse(a[CURRENT_METRICS_ANNOTATION])[0]).toEqual({ type: "Resource", resource: { name: "cpu", currentAverageUtilization: 45, currentAverageValue: "45m" } });
    expect(JSON.parse(a[CONDITIONS_ANNOTATION])[0].reason).toBe("ReadyForNewScale");
  });

  test("v2 → v1 → v2 loses nothing", () => {
    expect(hpaFromV1(hpaToV1(fullV2()))).toEqual(fullV2());
    const plain = { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "p" }, spec: { scaleTargetRef: ref, maxReplicas: 3 } } as KubeObject;
    expect(hpaFromV1(hpaToV1(plain))).toEqual(plain);
  });

  test("v1 → v2 → v1 loses nothing", () => {
    const v1 = {
      apiVersion: "autoscaling/v1",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web", namespace: "default" },
      spec: { scaleTargetRef: ref, minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50 },
      status: { currentReplicas: 1, desiredReplicas: 2, currentCPUUtilizationPercentage: 30 },
    } as KubeObject;
    const v2 = hpaFromV1(structuredClone(v1)) as any;
    expect(v2.spec.metrics).toEqual([{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }]);
    expect(v2.status.currentMetrics).toEqual([{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 30 } } }]);
    expect(v2.metadata.annotations).toBeUndefined();
    expect(hpaToV1(v2)).toEqual({ ...v1, metadata: { ...v1.metadata, annotations: { [CURRENT_METRICS_ANNOTATION]: '[{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":30}}]' } } } as KubeObject);
    const full = hpaToV1(fullV2());
    expect(hpaToV1(hpaFromV1(structuredClone(full)))).toEqual(full);
  });

  test("an annotation that is not JSON is a 400", () => {
    const v1 = { apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscaler", metadata: { name: "x", annotations: { [METRICS_ANNOTATION]: "{" } }, spec: { scaleTargetRef: ref, maxReplicas: 2 } } as KubeObject;
    expect(() => hpaFromV1(v1)).toThrow(`the annotation ${METRICS_ANNOTATION} is not valid JSON`);
  });
});
