import { afterAll, beforeAll, expect, test } from "bun:test";
import type { KubeObject } from "../../../api/meta";
import { configMaps } from "../../../api/resources/core/configmap";
import type { ResourceClient } from "../../../client/client";
import { eventually, getOrUndefined, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { startGarbageCollector } from ".";

let env: ControllerTestEnv;
let gc: { stop(): Promise<void> };
let cms: ResourceClient<KubeObject>;
beforeAll(async () => {
  env = await startControllerTestEnv();
  gc = await startGarbageCollector(env.client);
  cms = env.client.resource(configMaps);
});
afterAll(async () => {
  await gc.stop();
  await env.stop();
});

const ref = (owner: KubeObject, block = false) => ({ apiVersion: "v1", kind: "ConfigMap", name: owner.metadata.name!, uid: owner.metadata.uid!, ...(block && { blockOwnerDeletion: true }) });
const make = (name: string, owners: KubeObject[] = [], block = false) =>
  cms.create("default", { metadata: { name, ...(owners.length && { ownerReferences: owners.map((o) => ref(o, block)) }) }, data: {} });
const get = (name: string) => getOrUndefined(cms.get("default", name));

test("Background: the owner goes at once, its dependents after it", async () => {
  const owner = await make("bg-owner");
  await make("bg-dep", [owner]);
  await make("bg-grandchild", [await cms.get("default", "bg-dep")]);
  const deleted = await cms.delete("default", "bg-owner", { propagationPolicy: "Background" });
  expect(deleted.metadata.finalizers ?? []).toEqual([]);
  expect(await get("bg-owner")).toBeUndefined();
  await eventually(async () => !(await get("bg-dep")) && !(await get("bg-grandchild")), "dependents collected");
});

test("Foreground: the owner is held by foregroundDeletion until its blocking dependents are gone", async () => {
  const owner = await make("fg-owner");
  await make("fg-dep", [owner], true);
  // A finalizer of someone else keeps the dependent around, so the owner must wait for it.
  await cms.patch("default", "fg-dep", { metadata: { finalizers: ["example.com/hold"] } });
  const marked = await cms.delete("default", "fg-owner", { propagationPolicy: "Foreground" });
  expect(marked.metadata.deletionTimestamp).toBeDefined();
  expect(marked.metadata.finalizers).toContain("foregroundDeletion");
  await eventually(async () => (await get("fg-dep"))?.metadata.deletionTimestamp, "dependent marked for deletion");
  expect(await get("fg-owner")).toBeDefined();
  await cms.patch("default", "fg-dep", { metadata: { finalizers: null } });
  await eventually(async () => !(await get("fg-owner")), "owner deleted after its dependent");
  expect(await get("fg-dep")).toBeUndefined();
});

test("Orphan: dependents stay, without the reference; then the owner goes", async () => {
  const owner = await make("or-owner");
  await make("or-dep", [owner]);
  const marked = await cms.delete("default", "or-owner", { propagationPolicy: "Orphan" });
  expect(marked.metadata.finalizers).toContain("orphan");
  await eventually(async () => !(await get("or-owner")), "owner deleted");
  const dep = await get("or-dep");
  expect(dep).toBeDefined();
  expect(dep!.metadata.ownerReferences ?? []).toEqual([]);
});

test("a dependent with one owner left keeps living and loses only the gone owner's reference", async () => {
  const a = await make("multi-a");
  const b = await make("multi-b");
  await make("multi-dep", [a, b]);
  await cms.delete("default", "multi-a");
  await eventually(async () => (await get("multi-dep"))?.metadata.ownerReferences?.length === 1, "reference dropped");
  expect((await get("multi-dep"))!.metadata.ownerReferences![0].uid).toBe(b.metadata.uid!);
});

test("a dangling reference from the start (owner never existed) is collected; a same-name owner with another uid does not save it", async () => {
  const impostor = await make("ghost-owner");
  await cms.create("default", { metadata: { name: "ghost-dep", ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "ghost-owner", uid: "00000000-0000-0000-0000-000000000000" }] }, data: {} });
  await eventually(async () => !(await get("ghost-dep")), "dangling dependent collected");
  expect(await get("ghost-owner")).toBeDefined();
  expect(impostor.metadata.uid).not.toBe("00000000-0000-0000-0000-000000000000");
});

test("cluster-scoped owners work across resource types: a Node's dependents stay while it exists and go with it", async () => {
  const nodesC = env.client.resource({ group: "", version: "v1", plural: "nodes", namespaced: false });
  const node = await nodesC.create(undefined, { metadata: { name: "gc-owner-node" } });
  const byNode = { apiVersion: "v1", kind: "Node", name: node.metadata.name!, uid: node.metadata.uid! };
  await cms.create("default", { metadata: { name: "node-owned", ownerReferences: [byNode] }, data: {} });
  // Created after it: once this one (its Node owner never existed) is collected, the collector has
  // judged node-owned too, and left it, because its owner exists.
  await cms.create("default", { metadata: { name: "node-owned-dangling", ownerReferences: [{ ...byNode, name: "gc-no-such-node", uid: "00000000-0000-0000-0000-00000000abcd" }] }, data: {} });
  await eventually(async () => !(await get("node-owned-dangling")), "dependent of a missing Node collected");
  expect(await get("node-owned")).toBeDefined();

  await nodesC.delete(undefined, "gc-owner-node");
  await eventually(async () => !(await get("node-owned")), "dependent of the deleted Node collected");
});

test("a namespace (cluster-scoped, another type) that exists keeps the configmap it owns", async () => {
  const nss = env.client.resource({ group: "", version: "v1", plural: "namespaces", namespaced: false });
  const ns = await nss.create(undefined, { metadata: { name: "gc-owner-ns" } });
  const byNs = { apiVersion: "v1", kind: "Namespace", name: ns.metadata.name!, uid: ns.metadata.uid! };
  await cms.create("default", { metadata: { name: "ns-owned", ownerReferences: [byNs] }, data: {} });
  await cms.create("default", { metadata: { name: "ns-owned-dangling", ownerReferences: [{ ...byNs, name: "gc-no-such-ns", uid: "00000000-0000-0000-0000-00000000abce" }] }, data: {} });
  await eventually(async () => !(await get("ns-owned-dangling")), "dependent of a missing Namespace collected");
  expect(await get("ns-owned")).toBeDefined();
});
