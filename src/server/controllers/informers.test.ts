import { afterAll, beforeAll, expect, test } from "bun:test";
import { configMaps } from "../../api/resources/configmap";
import { startControllerTestEnv, type ControllerTestEnv } from "./controllertest";
import { SharedInformers } from "./informers";

let env: ControllerTestEnv;
beforeAll(async () => {
  env = await startControllerTestEnv();
});
afterAll(async () => {
  await env.stop();
});

test("one informer per resource and filter; a late handler gets the cache replayed as adds", async () => {
  await env.client.resource(configMaps).create("default", { metadata: { name: "shared-1" }, data: {} });
  const shared = new SharedInformers(env.client);
  const a = shared.get(configMaps);
  expect(shared.get(configMaps)).toBe(a);
  expect(shared.get(configMaps, { namespace: "kube-system" })).not.toBe(a);
  const early: string[] = [];
  shared.on(a, { add: (o) => early.push(o.metadata.name!) });
  await shared.start(a);
  await shared.start(a); // idempotent
  const late: string[] = [];
  shared.on(a, { add: (o) => late.push(o.metadata.name!) });
  expect(early).toContain("shared-1");
  expect(late).toEqual(early);
  shared.stop();
});
