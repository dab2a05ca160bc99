import { afterAll, beforeAll, expect, test } from "bun:test";
import { ApiError } from "../../../api/errors";
import { configMaps } from "../../../api/resources/core/configmap";
import { limitRanges, type LimitRange } from "../../../api/resources/core/limitrange";
import { namespaces } from "../../../api/resources/core/namespace";
import { pods, type Pod } from "../../../api/resources/core/pod";
import { resourceQuotas, type ResourceQuota } from "../../../api/resources/core/resourcequota";
import { eventually, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { startResourceQuotaController } from ".";

let env: ControllerTestEnv;
let ctl: { stop(): Promise<void> };
beforeAll(async () => {
  env = await startControllerTestEnv();
  ctl = await startResourceQuotaController(env.client);
});
afterAll(async () => {
  await ctl.stop();
  await env.stop();
});

const podsC = () => env.client.resource<Pod>(pods);
const quotasC = () => env.client.resource<ResourceQuota>(resourceQuotas);
const pod = (name: string, cpu?: string): Pod => ({
  metadata: { name },
  spec: { containers: [{ name: "c", image: "busybox", ...(cpu && { resources: { requests: { cpu }, limits: { cpu } } }) }] },
});
const namespace = async (name: string) => env.client.resource(namespaces).create(undefined, { metadata: { name } });
const quotaReady = (ns: string, name: string, used: Record<string, string>) =>
  eventually(async () => {
    const q = await quotasC().get(ns, name);
    return JSON.stringify(q.status?.used) === JSON.stringify(used) ? q : undefined;
  }, `quota ${name} used ${JSON.stringify(used)}`);
const refusal = async (p: Promise<unknown>): Promise<ApiError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("admitted");
};

test("status counts what is already there; admission charges new pods and refuses the one over", async () => {
  await namespace("q1");
  await podsC().create("q1", pod("before", "100m"));
  await podsC().create("q1", { ...pod("done", "100m"), status: { phase: "Succeeded" } });
  await quotasC().create("q1", { metadata: { name: "compute" }, spec: { hard: { pods: "2", "requests.cpu": "1", "count/pods": "10" } } });
  const q = await quotaReady("q1", "compute", { "count/pods": "2", pods: "2", "requests.cpu": "200m" });
  expect(q.status!.hard).toEqual({ "count/pods": "10", pods: "2", "requests.cpu": "1" });

  // "done" counts in pods until it is seen finished: mark it so, and the controller recounts.
  const done = await podsC().get("q1", "done");
  await podsC().updateStatus({ ...done, status: { ...done.status, phase: "Succeeded" } });
  await quotaReady("q1", "compute", { "count/pods": "2", pods: "1", "requests.cpu": "100m" });

  await podsC().create("q1", pod("second", "200m"));
  expect((await quotasC().get("q1", "compute")).status!.used).toEqual({ "count/pods": "3", pods: "2", "requests.cpu": "300m" });
  const e = await refusal(podsC().create("q1", pod("third", "100m")));
  expect(e.code).toBe(403);
  expect(e.message).toBe('pods "third" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2');
  const unstated = await refusal(podsC().create("q1", pod("nocpu")));
  expect(unstated.message).toBe('pods "nocpu" is forbidden: failed quota: compute: must specify requests.cpu for: c');

  // Deleting gives the room back.
  await podsC().delete("q1", "second");
  await quotaReady("q1", "compute", { "count/pods": "2", pods: "1", "requests.cpu": "100m" });
  await podsC().create("q1", pod("third", "100m"));
});

test("concurrent creates never take more than the quota allows", async () => {
  await namespace("q2");
  await quotasC().create("q2", { metadata: { name: "three" }, spec: { hard: { pods: "3" } } });
  await quotaReady("q2", "three", { pods: "0" });
  const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => podsC().create("q2", pod(`p${i}`))));
  expect(results.filter((r) => r.status === "fulfilled").length).toBe(3);
  for (const r of results) if (r.status === "rejected") expect((r.reason as ApiError).message).toContain("exceeded quota: three, requested: pods=1, used: pods=3, limited: pods=3");
  expect((await podsC().list("q2")).items.length).toBe(3);
});

test("object counts and dry runs", async () => {
  await namespace("q3");
  await quotasC().create("q3", { metadata: { name: "objects" }, spec: { hard: { configmaps: "1" } } });
  await quotaReady("q3", "objects", { configmaps: "0" });
  const cms = env.client.resource(configMaps);
  const dry = await env.client.request("POST", "/api/v1/namespaces/q3/configmaps?dryRun=All", { metadata: { name: "dry" } });
  expect(dry.status).toBe(201);
  expect((await quotasC().get("q3", "objects")).status!.used).toEqual({ configmaps: "0" });
  await cms.create("q3", { metadata: { name: "one" } });
  const e = await refusal(cms.create("q3", { metadata: { name: "two" } }));
  expect(e.message).toBe('configmaps "two" is forbidden: exceeded quota: objects, requested: configmaps=1, used: configmaps=1, limited: configmaps=1');
});

test("LimitRange defaults are charged to the quota", async () => {
  await namespace("q4");
  await env.client.resource<LimitRange>(limitRanges).create("q4", {
    metadata: { name: "defaults" },
    spec: { limits: [{ type: "Container", default: { cpu: "500m" }, defaultRequest: { cpu: "250m" }, max: { cpu: "1" } }] },
  });
  await quotasC().create("q4", { metadata: { name: "cpu" }, spec: { hard: { "requests.cpu": "1", "limits.cpu": "1" } } });
  await quotaReady("q4", "cpu", { "limits.cpu": "0", "requests.cpu": "0" });
  const created = await podsC().create("q4", pod("plain"));
  expect(created.spec!.containers[0]!.resources).toEqual({ limits: { cpu: "500m" }, requests: { cpu: "250m" } });
  expect(created.metadata.annotations?.["kubernetes.io/limit-ranger"]).toBe("LimitRanger plugin set: cpu request for container c; cpu limit for container c");
  expect((await quotasC().get("q4", "cpu")).status!.used).toEqual({ "limits.cpu": "500m", "requests.cpu": "250m" });
  const e = await refusal(podsC().create("q4", pod("big", "2")));
  expect(e.message).toBe('pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
});
