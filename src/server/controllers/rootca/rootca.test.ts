import { afterAll, beforeAll, expect, test } from "bun:test";
import { configMaps, type ConfigMap } from "../../../api/resources/core/configmap";
import { namespaces } from "../../../api/resources/core/namespace";
import { eventually, getOrUndefined, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { ROOT_CA_CONFIGMAP, startRootCaPublisher } from ".";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB-test\n-----END CERTIFICATE-----\n";
let env: ControllerTestEnv;
let ctl: { stop(): Promise<void> };
beforeAll(async () => {
  env = await startControllerTestEnv();
  ctl = await startRootCaPublisher(env.client, { caCertPem: CA });
});
afterAll(async () => {
  await ctl.stop();
  await env.stop();
});

test("every namespace gets kube-root-ca.crt with the CA; recreated when deleted, restored when edited", async () => {
  const cms = env.client.resource<ConfigMap>(configMaps);
  for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
    const cm = await eventually(() => getOrUndefined(cms.get(ns, ROOT_CA_CONFIGMAP)), `${ROOT_CA_CONFIGMAP} in ${ns}`);
    expect(cm.data).toEqual({ "ca.crt": CA });
  }
  await env.client.resource(namespaces).create(undefined, { metadata: { name: "fresh" } });
  const first = await eventually(() => getOrUndefined(cms.get("fresh", ROOT_CA_CONFIGMAP)), "configmap in a new namespace");
  await cms.delete("fresh", ROOT_CA_CONFIGMAP);
  await eventually(async () => {
    const cm = await getOrUndefined(cms.get("fresh", ROOT_CA_CONFIGMAP));
    return cm && cm.metadata.uid !== first.metadata.uid;
  }, "configmap recreated");
  const current = await cms.get("fresh", ROOT_CA_CONFIGMAP);
  await cms.update({ ...current, data: { "ca.crt": "tampered", extra: "x" } });
  const restored = await eventually(async () => {
    const cm = await cms.get("fresh", ROOT_CA_CONFIGMAP);
    return cm.data?.["ca.crt"] === CA ? cm : undefined;
  }, "configmap restored");
  expect(restored.data).toEqual({ "ca.crt": CA });
});
