import { afterAll, beforeAll, expect, test } from "bun:test";
import { namespaces } from "../../../api/resources/core/namespace";
import { serviceAccounts } from "../../../api/resources/core/serviceaccount";
import { eventually, getOrUndefined, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { startServiceAccountController } from ".";

let env: ControllerTestEnv;
let ctl: { stop(): Promise<void> };
beforeAll(async () => {
  env = await startControllerTestEnv();
  ctl = await startServiceAccountController(env.client);
});
afterAll(async () => {
  await ctl.stop();
  await env.stop();
});

test("every namespace gets a default ServiceAccount, recreated when deleted", async () => {
  const sas = env.client.resource(serviceAccounts);
  for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) await eventually(() => getOrUndefined(sas.get(ns, "default")), `default SA in ${ns}`);
  await env.client.resource(namespaces).create(undefined, { metadata: { name: "fresh" } });
  const first = await eventually(() => getOrUndefined(sas.get("fresh", "default")), "default SA in a new namespace");
  await sas.delete("fresh", "default");
  const again = await eventually(async () => {
    const sa = await getOrUndefined(sas.get("fresh", "default"));
    return sa && sa.metadata.uid !== first.metadata.uid ? sa : undefined;
  }, "default SA recreated");
  expect(again.metadata.name).toBe("default");
});

test("a terminating namespace gets none", async () => {
  const nss = env.client.resource(namespaces);
  const sas = env.client.resource(serviceAccounts);
  await nss.create(undefined, { metadata: { name: "ending" } });
  await eventually(() => getOrUndefined(sas.get("ending", "default")), "default SA");
  await nss.delete(undefined, "ending");
  await sas.delete("ending", "default");
  await Bun.sleep(100);
  expect(await getOrUndefined(sas.get("ending", "default"))).toBeUndefined();
});
