// CustomResourceDefinitions through the API: a stored CRD is Established and its resource served
// (discovery, CRUD, validation, defaulting, pruning, status and scale, tables, a second version,
// OpenAPI); deleting it deletes its objects and takes the resource out of discovery.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestApi, type TestApi } from "./testing";

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(() => t.stop());

const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const WIDGETS = "/apis/example.com/v1/namespaces/default/widgets";

const schema = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      required: ["size"],
      properties: {
        size: { type: "string", enum: ["small", "large"] },
        replicas: { type: "integer", minimum: 0, default: 1 },
        port: { "x-kubernetes-int-or-string": true },
        labels: { type: "object", additionalProperties: { type: "string" } },
        free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
      },
    },
    status: { type: "object", properties: { replicas: { type: "integer" }, selector: { type: "string" }, phase: { type: "string" } } },
  },
};

const crd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.example.com" },
  spec: {
    group: "example.com",
    scope: "Namespaced",
    names: { plural: "widgets", singular: "widget", kind: "Widget", shortNames: ["wd"], categories: ["all"] },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: schema },
        subresources: { status: {}, scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" } },
        additionalPrinterColumns: [
          { name: "Size", type: "string", jsonPath: ".spec.size" },
          { name: "Replicas", type: "integer", jsonPath: ".spec.replicas" },
        ],
      },
      { name: "v1beta1", served: true, storage: false, schema: { openAPIV3Schema: schema } },
    ],
  },
};

const widget = (name: string, spec: unknown) => ({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name }, spec });

describe("CustomResourceDefinition", () => {
  test("a bad definition is refused with upstream's paths", async () => {
    const bad = structuredClone(crd) as any;
    bad.metadata.name = "gadgets.example.com";
    bad.spec.versions[1].storage = true;
    bad.spec.versions[0].schema.openAPIV3Schema = { type: "object", properties: { spec: { properties: {} } } };
    const r = await t.call("POST", CRDS, bad);
    expect(r.status).toBe(422);
    expect(r.body.message).toContain('metadata.name: Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group');
    expect(r.body.message).toContain("must have exactly one version marked as storage version");
    expect(r.body.message).toContain("spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields");
    const noSchema = structuredClone(crd) as any;
    delete noSchema.spec.versions[0].schema;
    expect((await t.call("POST", CRDS, noSchema)).body.message).toContain("spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required");
  });

  test("created, it is Established and its resource is discoverable", async () => {
    expect((await t.call("POST", CRDS, crd)).status).toBe(201);
    let got: any;
    for (let i = 0; i < 100; i++) {
      got = (await t.call("GET", `${CRDS}/widgets.example.com`)).body;
      if (got.status?.conditions?.some((c: any) => c.type === "Established" && c.status === "True")) break;
      await Bun.sleep(20);
    }
    expect(got.status.conditions.map((c: any) => `${c.type}=${c.status}`)).toEqual(["NamesAccepted=True", "Established=True"]);
    expect(got.status.acceptedNames.kind).toBe("Widget");
    expect(got.status.storedVersions).toEqual(["v1"]);
    expect(got.metadata.finalizers).toEqual(["customresourcecleanup.apiextensions.k8s.io"]);
    const groups = (await t.call("GET", "/apis")).body.groups.find((g: any) => g.name === "example.com");
    expect(groups.versions.map((v: any) => v.version)).toEqual(["v1", "v1beta1"]);
    const list = (await t.call("GET", "/apis/example.com/v1")).body.resources;
    expect(list.map((r: any) => r.name)).toEqual(["widgets", "widgets/status", "widgets/scale"]);
    expect(list[0]).toMatchObject({ kind: "Widget", namespaced: true, shortNames: ["wd"], categories: ["all"], singularName: "widget" });
  });

  test("objects are validated, defaulted and pruned", async () => {
    const bad = await t.call("POST", WIDGETS, widget("bad", { size: "medium", replicas: "three" }));
    expect(bad.status).toBe(422);
    expect(bad.body.message).toContain('Widget.example.com "bad" is invalid');
    expect(bad.body.message).toContain('spec.replicas: Invalid value: "three": spec.replicas in body must be of type integer: "string"');
    expect(bad.body.message).toContain('spec.size: Unsupported value: "medium": supported values: "small", "large"');
    const missing = await t.call("POST", WIDGETS, widget("missing", {}));
    expect(missing.body.message).toContain("spec.size: Required value");
    const ok = await t.call("POST", WIDGETS, { ...widget("one", { size: "small", port: "http", extra: 1, labels: { a: "b" }, free: { any: { thing: 1 } } }), junk: true, status: { phase: "x" } });
    expect(ok.status).toBe(201);
    expect(ok.body.spec).toEqual({ size: "small", port: "http", replicas: 1, labels: { a: "b" }, free: { any: { thing: 1 } } });
    expect(ok.body.junk).toBeUndefined();
    expect(ok.body.status).toBeUndefined();
    expect(ok.body.metadata.generation).toBe(1);
  });

  test("status and spec are written apart; scale maps the paths", async () => {
    const cur = (await t.call("GET", `${WIDGETS}/one`)).body;
    const st = await t.call("PUT", `${WIDGETS}/one/status`, { ...cur, spec: { size: "large" }, status: { replicas: 1, selector: "app=one" } });
    expect(st.status).toBe(200);
    expect(st.body.spec.size).toBe("small");
    expect(st.body.status.replicas).toBe(1);
    const sc = await t.call("GET", `${WIDGETS}/one/scale`);
    expect(sc.body).toMatchObject({ kind: "Scale", spec: { replicas: 1 }, status: { replicas: 1, selector: "app=one" } });
    const scaled = await t.call("PUT", `${WIDGETS}/one/scale`, { ...sc.body, spec: { replicas: 4 } });
    expect(scaled.status).toBe(200);
    expect((await t.call("GET", `${WIDGETS}/one`)).body.spec.replicas).toBe(4);
  });

  test("another served version: apiVersion rewritten both ways", async () => {
    const v1beta1 = await t.call("GET", "/apis/example.com/v1beta1/namespaces/default/widgets/one");
    expect(v1beta1.body.apiVersion).toBe("example.com/v1beta1");
    const made = await t.call("POST", "/apis/example.com/v1beta1/namespaces/default/widgets", { apiVersion: "example.com/v1beta1", kind: "Widget", metadata: { name: "two" }, spec: { size: "large" } });
    expect(made.status).toBe(201);
    expect(made.body.apiVersion).toBe("example.com/v1beta1");
    expect((await t.call("GET", `${WIDGETS}/two`)).body).toMatchObject({ apiVersion: "example.com/v1", spec: { replicas: 1 } });
  });

  test("tables show the printer columns; OpenAPI publishes the schema", async () => {
    const table = await t.call("GET", WIDGETS, undefined, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
    expect(table.body.columnDefinitions.map((c: any) => c.name)).toEqual(["Name", "Size", "Replicas"]);
    expect(table.body.rows.map((r: any) => r.cells)).toEqual([["one", "small", 4], ["two", "large", 1]]);
    const doc = (await t.call("GET", "/openapi/v3/apis/example.com/v1")).body;
    const kind = Object.entries(doc.components.schemas).find(([k]) => k.endsWith(".Widget"))![1] as any;
    const spec = kind.properties.spec;
    expect(spec.properties.size.enum).toEqual(["small", "large"]);
    expect(spec.required).toEqual(["size"]);
    expect(kind["x-kubernetes-group-version-kind"]).toEqual([{ group: "example.com", version: "v1", kind: "Widget" }]);
    const v2 = await t.call("GET", "/openapi/v2");
    expect(Object.keys(v2.body.definitions).some((k) => k.endsWith("example.v1.Widget"))).toBe(true);
    const v2proto = await t.raw(new Request("https://bramble.test/openapi/v2", { headers: { authorization: "Bearer test-token", accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf" } }));
    expect(v2proto.status).toBe(200);
  });

  test("label and field selectors, watch", async () => {
    const cur = (await t.call("GET", `${WIDGETS}/two`)).body;
    await t.call("PUT", `${WIDGETS}/two`, { ...cur, metadata: { ...cur.metadata, labels: { tier: "back" } } });
    const byLabel = await t.call("GET", `${WIDGETS}?labelSelector=tier%3Dback`);
    expect(byLabel.body.items.map((i: any) => i.metadata.name)).toEqual(["two"]);
    const byField = await t.call("GET", `${WIDGETS}?fieldSelector=metadata.name%3Done`);
    expect(byField.body.items.map((i: any) => i.metadata.name)).toEqual(["one"]);
    const res = await t.raw(new Request(`https://bramble.test${WIDGETS}?watch=1&labelSelector=tier%3Dback`, { headers: { authorization: "Bearer test-token" } }));
    const reader = res.body!.getReader();
    let buf = "";
    while (!buf.includes("\n")) buf += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(JSON.parse(buf.split("\n")[0]!)).toMatchObject({ type: "ADDED", object: { kind: "Widget", metadata: { name: "two" } } });
  });

  test("names already taken are not accepted; freed, they are", async () => {
    const clash = structuredClone(crd) as any;
    clash.metadata.name = "gizmos.example.com";
    clash.spec.names = { plural: "gizmos", kind: "Widget" };
    clash.spec.versions = [clash.spec.versions[0]];
    expect((await t.call("POST", CRDS, clash)).status).toBe(201);
    let got: any;
    for (let i = 0; i < 100; i++) {
      got = (await t.call("GET", `${CRDS}/gizmos.example.com`)).body;
      if (got.status?.conditions?.length) break;
      await Bun.sleep(20);
    }
    expect(got.status.conditions.map((c: any) => [c.type, c.status, c.reason, c.message])).toEqual([
      ["NamesAccepted", "False", "KindConflict", '"Widget" is already in use'],
      ["Established", "False", "NotAccepted", "not all names are accepted"],
    ]);
    expect((await t.call("GET", "/apis/example.com/v1/namespaces/default/gizmos")).status).toBe(404);
    const builtIn = structuredClone(crd) as any;
    builtIn.metadata.name = "deployments.apps.k8s.io";
    builtIn.spec.group = "apps.k8s.io";
    builtIn.spec.names = { plural: "deployments", kind: "Deployment" };
    expect((await t.call("POST", CRDS, builtIn)).body.message).toContain('metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation "api-approved.kubernetes.io"');
  });

  test("a deleted definition waits for objects still finalizing", async () => {
    const held = structuredClone(crd) as any;
    held.metadata.name = "holds.example.org";
    held.spec.group = "example.org";
    held.spec.names = { plural: "holds", kind: "Hold" };
    held.spec.versions = [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }];
    expect((await t.call("POST", CRDS, held)).status).toBe(201);
    const path = "/apis/example.org/v1/namespaces/default/holds";
    expect((await t.call("POST", path, { apiVersion: "example.org/v1", kind: "Hold", metadata: { name: "h", finalizers: ["example.org/wait"] }, anything: { goes: 1 } })).status).toBe(201);
    expect((await t.call("DELETE", `${CRDS}/holds.example.org`)).status).toBe(200);
    await Bun.sleep(100);
    expect((await t.call("GET", `${CRDS}/holds.example.org`)).body.metadata.deletionTimestamp).toBeDefined();
    // Still served while it waits: no new objects, but the finalizer can be removed.
    const refused = await t.call("POST", path, { apiVersion: "example.org/v1", kind: "Hold", metadata: { name: "new" } });
    expect([refused.status, refused.body.message]).toEqual([405, "create not allowed while custom resource definition is terminating"]);
    const cur = (await t.call("GET", `${path}/h`)).body;
    expect(cur.metadata.deletionTimestamp).toBeDefined();
    expect((await t.call("PUT", `${path}/h`, { ...cur, metadata: { ...cur.metadata, finalizers: [] } })).status).toBe(200);
    for (let i = 0; i < 200 && (await t.call("GET", `${CRDS}/holds.example.org`)).status !== 404; i++) await Bun.sleep(20);
    expect((await t.call("GET", `${CRDS}/holds.example.org`)).status).toBe(404);
  });

  test("deleting the definition deletes its objects and its resource", async () => {
    const del = await t.call("DELETE", `${CRDS}/widgets.example.com`);
    expect(del.status).toBe(200);
    for (let i = 0; i < 100 && (await t.call("GET", `${CRDS}/widgets.example.com`)).status !== 404; i++) await Bun.sleep(20);
    expect((await t.call("GET", `${CRDS}/widgets.example.com`)).status).toBe(404);
    expect((await t.call("GET", WIDGETS)).status).toBe(404);
    expect(t.api.context.cache.list("/registry/example.com/widgets/")).toEqual([]);
    // The clashing definition takes the freed names.
    for (let i = 0; i < 100 && (await t.call("GET", "/apis/example.com/v1/namespaces/default/gizmos")).status !== 200; i++) await Bun.sleep(20);
    expect((await t.call("GET", "/apis/example.com/v1/namespaces/default/gizmos")).status).toBe(200);
    expect((await t.call("DELETE", `${CRDS}/gizmos.example.com`)).status).toBe(200);
    for (let i = 0; i < 100 && (await t.call("GET", `${CRDS}/gizmos.example.com`)).status !== 404; i++) await Bun.sleep(20);
    expect((await t.call("GET", "/apis")).body.groups.some((g: any) => g.name === "example.com")).toBe(false);
    // A new definition of the same resource starts empty.
    expect((await t.call("POST", CRDS, crd)).status).toBe(201);
    expect((await t.call("GET", WIDGETS)).body.items).toEqual([]);
  });
});
