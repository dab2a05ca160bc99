import { describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { resources } from "../../api/registry";
import { apiVersionOf } from "../../api/resource";
import { MergeList } from "../../api/schema";
import {
  componentName,
  groupVersionPath,
  openapiV2,
  openapiV2Json,
  openapiV3,
  openapiV3GroupVersions,
  openapiV3Hash,
  openapiV3Json,
  openapiV3Root,
  toOpenApiV3Schema,
} from "./openapi";

type Json = Record<string, any>;
const docFor = (gv: string) => openapiV3(resources, gv) as Json;

/**
 * What kubectl's strategicpatch.PatchMetaFromOpenAPIV3 does: step into `properties[key]`, read
 * the patch extensions there, then step through `items` (lists) and `allOf[0].$ref`.
 */
function lookup(doc: Json, kindComponent: string, path: string[]): { schema: Json; mergeKey?: string; strategy?: string } {
  const schemas = doc.components.schemas;
  const resolve = (s: Json): Json => {
    if (s.allOf?.length) s = s.allOf[0];
    if (s.$ref) {
      const target = schemas[s.$ref.replace("#/components/schemas/", "")];
      if (!target) throw new Error(`unable to resolve ${s.$ref}`);
      return target;
    }
    return s;
  };
  let schema = resolve(schemas[kindComponent]);
  let meta: { mergeKey?: string; strategy?: string } = {};
  for (const key of path) {
    const sub = schema.properties?.[key];
    if (!sub) throw new Error(`unable to find api field "${key}"`);
    meta = { mergeKey: sub["x-kubernetes-patch-merge-key"], strategy: sub["x-kubernetes-patch-strategy"] };
    schema = resolve(sub.items ?? sub);
  }
  return { schema, ...meta };
}

/** kubectl's supportsQueryParamV3: the first PATCH tagged with the GVK must list the param. */
function patchOpsFor(doc: Json, group: string, version: string, kind: string): Json[] {
  return Object.values(doc.paths as Record<string, Json>)
    .map((p) => p.patch)
    .filter((op) => {
      const g = op?.["x-kubernetes-group-version-kind"];
      return g && g.group === group && g.version === version && g.kind === kind;
    });
}

describe("/openapi/v3 root", () => {
  test("one entry per group-version with a hashed URL", () => {
    const root = openapiV3Root(resources);
    const gvs = [...new Set(resources.map(groupVersionPath))];
    expect(Object.keys(root.paths).sort()).toEqual([...gvs].sort());
    expect(root.paths).toHaveProperty(["api/v1"]);
    expect(root.paths).toHaveProperty(["apis/apps/v1"]);
    for (const [gv, { serverRelativeURL }] of Object.entries(root.paths)) {
      expect(serverRelativeURL).toBe(`/openapi/v3/${gv}?hash=${openapiV3Hash(resources, gv)}`);
      expect(openapiV3Hash(resources, gv)).toMatch(/^[0-9A-F]{128}$/);
    }
    expect(openapiV3GroupVersions(resources)).toEqual(gvs);
  });

  test("documents are cached and the hash follows the bytes", () => {
    expect(openapiV3Root(resources)).toBe(openapiV3Root(resources));
    expect(openapiV3(resources, "api/v1")).toBe(openapiV3(resources, "/api/v1"));
    const json = openapiV3Json(resources, "apis/apps/v1")!;
    expect(JSON.parse(json)).toEqual(docFor("apis/apps/v1"));
    const other = openapiV3Hash(resources, "api/v1");
    expect(other).not.toBe(openapiV3Hash(resources, "apis/apps/v1"));
  });

  test("a group-version not served has no document", () => {
    expect(openapiV3(resources, "apis/nope/v1")).toBeUndefined();
    expect(openapiV3Hash(resources, "apis/nope/v1")).toBeUndefined();
  });
});

describe("per group-version documents", () => {
  for (const gv of openapiV3GroupVersions(resources)) {
    test(`${gv}: kinds, lists and JSON round trip`, () => {
      const doc = docFor(gv);
      expect(doc.openapi).toBe("3.0.0");
      expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
      for (const r of resources.filter((x) => groupVersionPath(x) === gv)) {
        const kind = doc.components.schemas[componentName(r, r.kind)];
        expect(kind["x-kubernetes-group-version-kind"]).toEqual([{ group: r.group, version: r.version, kind: r.kind }]);
        expect(kind.type).toBe("object");
        expect(Object.keys(kind.properties)).toEqual(expect.arrayContaining(["apiVersion", "kind", "metadata"]));
        const list = doc.components.schemas[componentName(r, r.listKind)];
        expect(list["x-kubernetes-group-version-kind"]).toEqual([{ group: r.group, version: r.version, kind: r.listKind }]);
        expect(list.properties.items.items.allOf[0].$ref).toBe(`#/components/schemas/${componentName(r, r.kind)}`);
      }
    });

    test(`${gv}: every $ref resolves`, () => {
      const doc = docFor(gv);
      const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
      for (const ref of new Set(refs)) {
        const name = ref.slice(8, -1).replace("#/components/schemas/", "");
        expect(doc.components.schemas).toHaveProperty([name]);
      }
    });

    test(`${gv}: no TypeBox-only keywords leak into the document`, () => {
      const text = openapiV3Json(resources, gv)!;
      expect(text).not.toContain('"patternProperties"');
      expect(text).not.toContain('"const"');
      expect(text).not.toContain('"type":"null"');
      expect(text).not.toContain('"$id"');
    });
  }

  test("core names and paths look like upstream's", () => {
    const core = docFor("api/v1");
    expect(core.components.schemas).toHaveProperty(["io.k8s.api.core.v1.Pod"]);
    expect(core.components.schemas).toHaveProperty(["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]);
    const item = core.paths["/api/v1/namespaces/{namespace}/pods/{name}"];
    expect(item.get.operationId).toBe("readCoreV1NamespacedPod");
    expect(item.patch["x-kubernetes-action"]).toBe("patch");
    expect(item.patch["x-kubernetes-group-version-kind"]).toEqual({ group: "", version: "v1", kind: "Pod" });
    expect(item.parameters.map((p: Json) => p.name)).toEqual(["name", "namespace", "pretty"]);
    expect(core.paths["/api/v1/pods"].get.operationId).toBe("listCoreV1PodForAllNamespaces");
    expect(core.paths["/api/v1/namespaces/{namespace}/pods"].post["x-kubernetes-action"]).toBe("post");
    expect(core.paths["/api/v1/nodes/{name}"].get.operationId).toBe("readCoreV1Node");
    expect(core.paths["/api/v1/namespaces/{name}"]).toBeDefined();
    const apps = docFor("apis/apps/v1");
    expect(apps.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"].patch["x-kubernetes-group-version-kind"]).toEqual({
      group: "autoscaling",
      version: "v1",
      kind: "Scale",
    });
    expect(apps.components.schemas).toHaveProperty(["io.k8s.api.autoscaling.v1.Scale"]);
  });
});

describe("what kubectl 1.32 checks", () => {
  test("every PATCH, POST and PUT for a kind lists fieldValidation (so kubectl sends Strict)", () => {
    for (const r of resources) {
      const doc = docFor(groupVersionPath(r));
      const ops = patchOpsFor(doc, r.group, r.version, r.kind);
      expect(ops.length).toBeGreaterThan(0);
      for (const op of ops) {
        expect(op.parameters.map((p: Json) => p.name)).toContain("fieldValidation");
        // gvkSupportsPatchOpenAPIV3: the request body must offer strategic merge patch.
        expect(Object.keys(op.requestBody.content)).toContain("application/strategic-merge-patch+json");
      }
      for (const path of Object.values(doc.paths as Record<string, Json>))
        for (const method of ["post", "put"])
          if (path[method]?.["x-kubernetes-group-version-kind"]?.kind === r.kind)
            expect(path[method].parameters.map((p: Json) => p.name)).toContain("fieldValidation");
    }
  });

  test("apply's merge keys are found the way kubectl walks the schema", () => {
    const apps = docFor("apis/apps/v1");
    const dep = componentName({ group: "apps", version: "v1" }, "Deployment");
    const podSpec = ["spec", "template", "spec"];
    expect(lookup(apps, dep, [...podSpec, "containers"])).toMatchObject({ mergeKey: "name", strategy: "merge" });
    expect(lookup(apps, dep, [...podSpec, "containers", "env"])).toMatchObject({ mergeKey: "name", strategy: "merge" });
    expect(lookup(apps, dep, [...podSpec, "containers", "ports"])).toMatchObject({ mergeKey: "containerPort", strategy: "merge" });
    expect(lookup(apps, dep, [...podSpec, "containers", "volumeMounts"])).toMatchObject({ mergeKey: "mountPath", strategy: "merge" });
    expect(lookup(apps, dep, [...podSpec, "volumes"])).toMatchObject({ mergeKey: "name", strategy: "merge,retainKeys" });
    expect(lookup(apps, dep, ["metadata", "finalizers"])).toMatchObject({ strategy: "merge" });
    expect(lookup(apps, dep, ["metadata", "ownerReferences"])).toMatchObject({ mergeKey: "uid", strategy: "merge" });
    expect(lookup(apps, dep, ["spec", "template", "metadata", "labels"]).schema.additionalProperties).toEqual({ type: "string" });
    // args are replaced as a whole: no strategy.
    expect(lookup(apps, dep, [...podSpec, "containers", "args"]).strategy).toBeUndefined();

    const core = docFor("api/v1");
    const pod = componentName({ group: "", version: "v1" }, "Pod");
    expect(lookup(core, pod, ["spec", "containers", "env"])).toMatchObject({ mergeKey: "name", strategy: "merge" });
    const svc = componentName({ group: "", version: "v1" }, "Service");
    expect(lookup(core, svc, ["spec", "ports"])).toMatchObject({ mergeKey: "port", strategy: "merge" });
  });

  test("kubectl can find the component for every kind by its GVK", () => {
    for (const r of resources) {
      const doc = docFor(groupVersionPath(r));
      const found = Object.values(doc.components.schemas as Record<string, Json>).filter((c) =>
        (c["x-kubernetes-group-version-kind"] ?? []).some((g: Json) => `${g.group ? `${g.group}/` : ""}${g.version}` === apiVersionOf(r) && g.kind === r.kind),
      );
      expect(found).toHaveLength(1);
    }
  });
});

describe("schema conversion", () => {
  test("unions, records, literals and int-or-string", () => {
    const s: Json = toOpenApiV3Schema(
      Type.Object({
        a: Type.Optional(Type.Union([Type.String({ format: "date-time" }), Type.Null()])),
        b: Type.Record(Type.String(), Type.Integer()),
        c: Type.Union([Type.Literal("In"), Type.Literal("NotIn")]),
        d: Type.Union([Type.Integer(), Type.String()], { "x-kubernetes-int-or-string": true }),
        e: Type.Union([Type.String(), Type.Number()], { "x-kubernetes-int-or-string": true }),
        f: MergeList(Type.Object({ name: Type.String() }), "name"),
        g: Type.Unknown(),
      }),
    );
    expect(s.properties.a).toEqual({ allOf: [{ $ref: "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Time" }], nullable: true });
    expect(s.properties.b).toEqual({ type: "object", additionalProperties: { type: "integer" } });
    expect(s.properties.c).toEqual({ type: "string", enum: ["In", "NotIn"] });
    // Upstream's named scalars: kubectl explain shows <IntOrString>, <Quantity>, <Time>.
    expect(s.properties.d).toEqual({ allOf: [{ $ref: "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString" }] });
    expect(s.properties.e).toEqual({ allOf: [{ $ref: "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity" }] });
    expect(s.properties.f["x-kubernetes-patch-merge-key"]).toBe("name");
    expect(s.properties.f.items.required).toEqual(["name"]);
    expect(s.properties.g).toEqual({});
    expect(s.required).toEqual(["b", "c", "d", "e", "f", "g"]);
  });

  test("kubectl explain names upstream's scalars and describes the envelope of every kind", () => {
    const doc = openapiV3(resources, "apis/batch/v1") as Json;
    const schemas = doc.components.schemas;
    // No type in v3, as upstream: kubectl explain then prints the component's name, <IntOrString>.
    expect(schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"].type).toBeUndefined();
    expect(schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"].oneOf).toEqual([{ type: "string" }, { type: "number" }]);
    const job = schemas["io.k8s.api.batch.v1.Job"];
    for (const field of ["apiVersion", "kind", "metadata", "spec", "status"]) expect(job.properties[field].description).toBeTruthy();
    expect(job.properties.spec.description).toContain("Job");
    const v2 = openapiV2(resources) as Json;
    expect(v2.definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]).toMatchObject({ type: "string", format: "int-or-string" });
  });

  test("recursive schemas become components", () => {
    const Node = Type.Recursive((This) => Type.Object({ name: Type.String(), children: Type.Optional(Type.Array(This)) }), { $id: "Node" });
    const fake = { ...resources.find((r) => r.kind === "ConfigMap")!, schema: Type.Object({ tree: Node }) };
    const doc = openapiV3([fake], "api/v1") as Json;
    expect(doc.components.schemas["io.bramble.schema.Node"].properties.children.items.allOf[0].$ref).toBe(
      "#/components/schemas/io.bramble.schema.Node",
    );
  });
});

describe("/openapi/v2", () => {
  test("Swagger 2.0 with the same definitions", () => {
    const v2 = openapiV2(resources) as Json;
    expect(v2.swagger).toBe("2.0");
    expect(v2).toBe(openapiV2(resources));
    expect(JSON.parse(openapiV2Json(resources))).toEqual(v2);
    for (const r of resources) expect(v2.definitions).toHaveProperty([componentName(r, r.kind)]);
    const text = openapiV2Json(resources);
    expect(text).not.toContain("#/components/");
    expect(text).not.toContain('"nullable"');
    expect(text).not.toContain('"anyOf"');
    const patch = v2.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].patch;
    expect(patch.consumes).toContain("application/strategic-merge-patch+json");
    expect(patch.parameters.map((p: Json) => p.name)).toEqual(expect.arrayContaining(["fieldValidation", "body"]));
    const dep = v2.definitions["io.k8s.api.apps.v1.Deployment"];
    expect(dep.properties.metadata.$ref).toBe("#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    // spec is DeploymentSpec, its template a PodTemplateSpec, whose spec a PodSpec: by $ref, as upstream.
    const deref = (x: Json): Json => (x.$ref ? v2.definitions[(x.$ref as string).replace("#/definitions/", "")] : x);
    expect(dep.properties.spec.$ref).toBe("#/definitions/io.k8s.api.apps.v1.DeploymentSpec");
    const podSpec = deref(deref(deref(dep.properties.spec).properties.template).properties.spec);
    expect(podSpec.properties.containers["x-kubernetes-patch-merge-key"]).toBe("name");
  });
});

describe("titled schemas", () => {
  test("a nested type with a title is a component of the kind's package; another shape under the same title stays inline", () => {
    const a = Type.Object({ x: Type.String() }, { title: "Thing" });
    const b = Type.Object({ y: Type.String() }, { title: "Thing" });
    const fake = { ...resources.find((r) => r.kind === "ConfigMap")!, schema: Type.Object({ first: a, second: b }) };
    const doc = openapiV3([fake], "api/v1") as Json;
    const cm = doc.components.schemas["io.k8s.api.core.v1.ConfigMap"];
    expect(cm.properties.first.allOf[0].$ref).toBe("#/components/schemas/io.k8s.api.core.v1.Thing");
    expect(doc.components.schemas["io.k8s.api.core.v1.Thing"].properties).toEqual({ x: { type: "string" } });
    expect(cm.properties.second.properties).toEqual({ y: { type: "string" } });
  });
});
