// A kind served in several versions (HorizontalPodAutoscaler: stored autoscaling/v2, also served
// as autoscaling/v1): every verb in one version sees what was written in the other.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestApi, type TestApi } from "./testing";

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(() => t.stop());

const V1 = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers";
const V2 = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";
const ref = { apiVersion: "apps/v1", kind: "Deployment", name: "web" };
const memory = { type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } } };
const cpu = (n: number) => ({ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: n } } });

async function firstEvent(path: string): Promise<any> {
  const res = await t.raw(new Request(`https://bramble.test${path}`, { headers: { authorization: "Bearer test-token" } }));
  const reader = res.body!.getReader();
  let buf = "";
  while (!buf.includes("\n")) buf += new TextDecoder().decode((await reader.read()).value);
  await reader.cancel();
  return JSON.parse(buf.trim().split("\n")[0]!);
}

describe("a kind served in two versions", () => {
  test("discovery lists both, v2 preferred; OpenAPI has the v1 schema", async () => {
    const g = await t.call("GET", "/apis/autoscaling");
    expect(g.body.versions.map((v: any) => v.version)).toEqual(["v2", "v1"]);
    expect(g.body.preferredVersion.version).toBe("v2");
    const v1 = await t.call("GET", "/apis/autoscaling/v1");
    expect(v1.body.resources.map((r: any) => r.name)).toEqual(["horizontalpodautoscalers", "horizontalpodautoscalers/status"]);
    const doc = await t.call("GET", "/openapi/v3/apis/autoscaling/v1");
    expect(doc.body.components.schemas["io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler"].properties.spec).toBeDefined();
  });

  test("created in v2: GET, LIST, WATCH, PATCH and PUT in v1 keep every v2 field", async () => {
    const created = await t.call("POST", V2, { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "two" }, spec: { scaleTargetRef: ref, maxReplicas: 5, metrics: [cpu(60), memory] } });
    expect(created.status).toBe(201);
    const got = await t.call("GET", `${V1}/two`);
    expect(got.body.apiVersion).toBe("autoscaling/v1");
    expect(got.body.spec).toEqual({ scaleTargetRef: ref, minReplicas: 1, maxReplicas: 5, targetCPUUtilizationPercentage: 60 });
    expect(JSON.parse(got.body.metadata.annotations["autoscaling.alpha.kubernetes.io/metrics"])).toEqual([{ type: "Resource", resource: { name: "memory", targetAverageValue: "100Mi" } }]);
    const list = await t.call("GET", V1);
    expect(list.body.apiVersion).toBe("autoscaling/v1");
    expect(list.body.items.find((i: any) => i.metadata.name === "two").spec.targetCPUUtilizationPercentage).toBe(60);
    const ev = await firstEvent(`${V1}?watch=1&fieldSelector=metadata.name%3Dtwo`);
    expect(ev.type).toBe("ADDED");
    expect(ev.object.apiVersion).toBe("autoscaling/v1");
    expect(ev.object.spec.targetCPUUtilizationPercentage).toBe(60);

    const patched = await t.call("PATCH", `${V1}/two`, { spec: { targetCPUUtilizationPercentage: 40, maxReplicas: 6 } }, { "content-type": "application/merge-patch+json" });
    expect(patched.status).toBe(200);
    expect(patched.body.spec.targetCPUUtilizationPercentage).toBe(40);
    const afterPatch = await t.call("GET", `${V2}/two`);
    expect(afterPatch.body.spec.metrics).toEqual([cpu(40), memory]);
    expect(afterPatch.body.spec.maxReplicas).toBe(6);
    expect(afterPatch.body.metadata.annotations).toBeUndefined();

    const v1 = (await t.call("GET", `${V1}/two`)).body;
    v1.spec.minReplicas = 2;
    const put = await t.call("PUT", `${V1}/two`, v1);
    expect(put.status).toBe(200);
    const afterPut = await t.call("GET", `${V2}/two`);
    expect(afterPut.body.spec).toMatchObject({ minReplicas: 2, metrics: [cpu(40), memory] });
  });

  test("created in v1: read and written in v2", async () => {
    const created = await t.call("POST", V1, { apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscaler", metadata: { name: "one" }, spec: { scaleTargetRef: ref, minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50 } });
    expect(created.status).toBe(201);
    expect(created.body.apiVersion).toBe("autoscaling/v1");
    expect(created.body.spec.targetCPUUtilizationPercentage).toBe(50);
    const v2 = await t.call("GET", `${V2}/one`);
    expect(v2.body.spec.metrics).toEqual([cpu(50)]);
    const patched = await t.call("PATCH", `${V2}/one`, { spec: { metrics: [cpu(50), memory] } }, { "content-type": "application/merge-patch+json" });
    expect(patched.body.spec.metrics).toEqual([cpu(50), memory]);
    const ev = await firstEvent(`${V2}?watch=1&fieldSelector=metadata.name%3Done`);
    expect(ev.object.apiVersion).toBe("autoscaling/v2");
    const table = await t.call("GET", `${V1}/one`, undefined, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
    expect(table.body.rows[0].cells.slice(0, 3)).toEqual(["one", "Deployment/web", "cpu: <unknown>/50%, memory: <unknown>/100Mi"]);
  });

  test("bad v1 bodies and annotations are refused with a clear error", async () => {
    const bad = await t.call("POST", `${V1}?fieldValidation=Strict`, { apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscaler", metadata: { name: "bad" }, spec: { scaleTargetRef: ref, maxReplicas: 3, metrics: [] } });
    expect(bad.status).toBe(400);
    const wrong = await t.call("POST", V2, { apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscaler", metadata: { name: "bad" }, spec: { scaleTargetRef: ref, maxReplicas: 3 } });
    expect(wrong.status).toBe(400);
    const body = (annotation: string) => ({ apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscaler", metadata: { name: "ann", annotations: { "autoscaling.alpha.kubernetes.io/metrics": annotation } }, spec: { scaleTargetRef: ref, maxReplicas: 3 } });
    const notJson = await t.call("POST", V1, body("{"));
    expect([notJson.status, notJson.body.message]).toEqual([400, "the annotation autoscaling.alpha.kubernetes.io/metrics is not valid JSON"]);
    const wrongType = await t.call("POST", V1, body('[{"type":"Pods","pods":{"metricName":5,"targetAverageValue":"1"}}]'));
    expect(wrongType.status).toBe(400);
    const unknown = await t.call("POST", V1, body('[{"type":"Pods","pods":{"metricName":"rps","targetAverageValue":"1","extra":1}}]'));
    expect(unknown.status).toBe(201);
    expect(JSON.parse(unknown.body.metadata.annotations["autoscaling.alpha.kubernetes.io/metrics"])).toEqual([{ type: "Pods", pods: { metricName: "rps", targetAverageValue: "1" } }]);
    const del = await t.call("DELETE", `${V1}/one`);
    expect(del.body.apiVersion).toBe("autoscaling/v1");
  });
});
