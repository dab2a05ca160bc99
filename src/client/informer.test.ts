import { afterAll, beforeAll, expect, test } from "bun:test";
import { configMaps } from "../api/resources/core/configmap";
import { startHttpTestApi, type HttpTestApi } from "../server/apiserver/testing";
import { KubeClient } from "./client";
import { Informer } from "./informer";

let env: HttpTestApi;
let client: KubeClient;
beforeAll(async () => {
  env = await startHttpTestApi();
  client = env.client;
});
afterAll(async () => {
  await env.stop();
});

test("the typed client turns Status errors into ApiError", async () => {
  const cms = client.resource(configMaps);
  const err = await cms.get("default", "missing").catch((e) => e);
  expect(err.code).toBe(404);
  expect(err.reason).toBe("NotFound");
});

test("an informer lists, then follows adds, updates and deletes in order", async () => {
  const cms = client.resource(configMaps);
  await cms.create("default", { metadata: { name: "pre" }, data: { a: "1" } });
  const seen: string[] = [];
  const inf = new Informer(cms, { namespace: "default" }).on({
    add: (o) => seen.push(`add ${o.metadata.name}`),
    update: (_, o) => seen.push(`update ${o.metadata.name}`),
    delete: (o) => seen.push(`delete ${o.metadata.name}`),
  });
  await inf.start();
  expect(seen).toEqual(["add pre"]);
  await cms.create("default", { metadata: { name: "live" }, data: { a: "1" } });
  await cms.patch("default", "live", { data: { a: "2" } });
  await cms.delete("default", "live");
  for (let i = 0; i < 100 && seen.length < 4; i++) await Bun.sleep(10);
  inf.stop();
  expect(seen).toEqual(["add pre", "add live", "update live", "delete live"]);
  expect(inf.get("default/pre")?.data).toEqual({ a: "1" });
  expect(inf.get("default/live")).toBeUndefined();
});

test("an informer lists in pages and misses nothing written while it pages", async () => {
  const cms = client.resource(configMaps);
  await client.resource({ group: "", version: "v1", plural: "namespaces", namespaced: false }).create(undefined, { metadata: { name: "paged" } });
  for (let i = 0; i < 7; i++) await cms.create("paged", { metadata: { name: `cm-${i}` }, data: { i: String(i) } });
  const requests: string[] = [];
  const paging = {
    ...cms,
    ref: cms.ref,
    list: async (ns: string | undefined, o: any) => {
      requests.push(`limit=${o.limit} continue=${o.continue ? "yes" : "no"}`);
      // Between the first and second page: one object goes, one is written.
      if (requests.length === 2) {
        await cms.delete("paged", "cm-0");
        await cms.create("paged", { metadata: { name: "cm-late" }, data: {} });
      }
      return cms.list(ns, o);
    },
    watch: cms.watch.bind(cms),
  } as typeof cms;
  const inf = new Informer(paging, { namespace: "paged", pageSize: 3 });
  await inf.start();
  expect(requests).toEqual(["limit=3 continue=no", "limit=3 continue=yes", "limit=3 continue=yes"]);
  // The watch from the first page's version replays what happened while paging.
  for (let i = 0; i < 100 && (inf.get("paged/cm-0") || !inf.get("paged/cm-late")); i++) await Bun.sleep(10);
  inf.stop();
  expect(inf.list().map((o) => o.metadata.name).sort()).toEqual(["cm-1", "cm-2", "cm-3", "cm-4", "cm-5", "cm-6", "cm-late"]);
});

test("the event recorder writes an Event and counts repeats on the same object", async () => {
  const { EventRecorder } = await import("./events");
  const cms = client.resource(configMaps);
  const target = await cms.create("default", { metadata: { name: "evented" }, data: {} });
  const rec = new EventRecorder(client, "test-component", undefined, 0);
  rec.event({ ...target, apiVersion: "v1", kind: "ConfigMap" }, "Warning", "Testing", "it happened");
  await Bun.sleep(50);
  rec.event({ ...target, apiVersion: "v1", kind: "ConfigMap" }, "Warning", "Testing", "it happened");
  const events = client.resource({ group: "", version: "v1", plural: "events", namespaced: true });
  let list = await events.list("default", { fieldSelector: "involvedObject.name=evented" });
  for (let i = 0; i < 50 && (list.items[0] as any)?.count !== 2; i++) {
    await Bun.sleep(10);
    list = await events.list("default", { fieldSelector: "involvedObject.name=evented" });
  }
  expect(list.items.length).toBe(1);
  expect(list.items[0]).toMatchObject({ reason: "Testing", type: "Warning", count: 2, source: { component: "test-component" } });
});

test("repeats inside the write interval are counted, not written", async () => {
  const { EventRecorder } = await import("./events");
  const cms = client.resource(configMaps);
  const target = { ...(await cms.create("default", { metadata: { name: "quiet" }, data: {} })), apiVersion: "v1", kind: "ConfigMap" };
  const rec = new EventRecorder(client, "test-component");
  rec.event(target, "Warning", "Again", "same thing");
  const events = client.resource({ group: "", version: "v1", plural: "events", namespaced: true });
  const first = async () => (await events.list("default", { fieldSelector: "involvedObject.name=quiet" })).items[0] as any;
  for (let i = 0; i < 50 && !(await first()); i++) await Bun.sleep(10);
  const written = await first();
  for (let i = 0; i < 5; i++) rec.event(target, "Warning", "Again", "same thing");
  await Bun.sleep(50);
  const after = await first();
  expect(after.count).toBe(1);
  expect(after.metadata.resourceVersion).toBe(written.metadata.resourceVersion);
});
