import { afterAll, beforeAll, expect, test } from "bun:test";
import { configMaps } from "../../../api/resources/core/configmap";
import { namespaces } from "../../../api/resources/core/namespace";
import { pods } from "../../../api/resources/core/pod";
import { eventually, getOrUndefined, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { startNamespaceController } from ".";

let env: ControllerTestEnv;
let ctl: { stop(): Promise<void> };
beforeAll(async () => {
  env = await startControllerTestEnv();
  ctl = await startNamespaceController(env.client, { recheckMs: 50 });
});
afterAll(async () => {
  await ctl.stop();
  await env.stop();
});

test("a terminating namespace is emptied, then deleted", async () => {
  const nss = env.client.resource(namespaces);
  const cms = env.client.resource(configMaps);
  await nss.create(undefined, { metadata: { name: "doomed" } });
  for (let i = 0; i < 3; i++) await cms.create("doomed", { metadata: { name: `c${i}` }, data: {} });
  await nss.delete(undefined, "doomed");
  await eventually(async () => !(await getOrUndefined(nss.get(undefined, "doomed"))), "namespace gone");
  expect((await cms.list("doomed")).items).toEqual([]);
});

test("the namespace waits for a terminating pod, and goes once the pod is finished", async () => {
  const nss = env.client.resource(namespaces);
  const podsClient = env.client.resource(pods);
  await nss.create(undefined, { metadata: { name: "waiting" } });
  await podsClient.create("waiting", { metadata: { name: "p" }, spec: { nodeName: "n1", containers: [{ name: "c", image: "busybox" }] } });
  await nss.delete(undefined, "waiting");
  const pod = await eventually(async () => {
    const p = await podsClient.get("waiting", "p");
    return p.metadata.deletionTimestamp ? p : undefined;
  }, "pod marked");
  expect(pod.metadata.deletionGracePeriodSeconds).toBe(30);
  await Bun.sleep(150); // a few rechecks: the namespace must still be there
  expect(await getOrUndefined(nss.get(undefined, "waiting"))).toBeDefined();
  await podsClient.delete("waiting", "p", { gracePeriodSeconds: 0 }); // what the node's agent does
  await eventually(async () => !(await getOrUndefined(nss.get(undefined, "waiting"))), "namespace gone");
});
