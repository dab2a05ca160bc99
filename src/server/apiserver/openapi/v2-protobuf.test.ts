// The /openapi/v2 protobuf, decoded by an independent decoder (protobufjs, reading the .proto text
// at test time) and turned back into Swagger JSON: it must be the served JSON document, field for
// field. kubectl itself reading it is tests/kubectl-apply-list.test.ts.
import { describe, expect, test } from "bun:test";
import protobuf from "protobufjs";
import { resources } from "../../../api/registry";
import { openapiV2 } from "../openapi";
import { encodeOpenApiV2Document, yamlFlow } from "./v2-protobuf";

type Json = Record<string, any>;

const root = protobuf.parse(await Bun.file(new URL("./openapiv2-subset.proto", import.meta.url)).text(), { keepCase: true }).root;
const DocumentType = root.lookupType("openapi.v2.Document");

const camel = (name: string) => (name === "_ref" ? "$ref" : name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));

/**
 * gnostic's message → the Swagger JSON it stands for, driven by the .proto's reflection:
 * `Named*` pairs become keys of the enclosing object (maps and `x-` extensions), oneof wrappers
 * become their one member, TypeItem/ItemsItem/StringArray unwrap, Any is parsed as YAML.
 */
function toSwagger(type: protobuf.Type, msg: Json): unknown {
  switch (type.name) {
    case "Any":
      return Bun.YAML.parse(msg.yaml);
    case "TypeItem":
      return msg.value.length === 1 ? msg.value[0] : msg.value;
    case "StringArray":
      return msg.value ?? [];
    case "ItemsItem": {
      const schemas = (msg.schema as Json[]).map((s) => toSwagger(type.fields.schema!.resolvedType as protobuf.Type, s));
      return schemas.length === 1 ? schemas[0] : schemas;
    }
  }
  if (type.oneofsArray.length) {
    const present = type.fieldsArray.filter((f) => msg[f.name] !== undefined);
    expect(present.length).toBe(1); // a oneof wrapper holds exactly one member
    return fieldValue(present[0]!, msg[present[0]!.name]);
  }
  const out: Json = {};
  for (const f of type.fieldsArray) {
    const v = msg[f.name];
    if (v === undefined || (f.repeated && v.length === 0)) continue;
    const t = f.resolvedType;
    if (t instanceof protobuf.Type && t.name.startsWith("Named")) {
      for (const pair of v as Json[]) {
        expect(pair.name in out).toBe(false); // no key twice
        out[pair.name] = fieldValue(t.fields.value!, pair.value);
      }
      continue;
    }
    out[camel(f.name)] = f.repeated ? (v as unknown[]).map((x) => fieldValue(f, x)) : fieldValue(f, v);
  }
  // Wrappers whose only field is a map (Definitions, Properties, SecurityRequirement, ...) are that map.
  return out;
}

const fieldValue = (f: protobuf.Field, v: unknown): unknown => (f.resolvedType instanceof protobuf.Type ? toSwagger(f.resolvedType, v as Json) : v);

function decode(bytes: Uint8Array): Json {
  const msg = DocumentType.decode(bytes);
  // No field the .proto does not know: protobufjs keeps only known fields, so re-encoding what it
  // read must give back as many bytes as were sent.
  expect(DocumentType.encode(msg).finish().length).toBe(bytes.length);
  return DocumentType.toObject(msg, { longs: Number }) as Json;
}

describe("openapi v2 as gnostic protobuf", () => {
  const doc = openapiV2(resources) as Json;
  const bytes = encodeOpenApiV2Document(doc);
  const decoded = decode(bytes);
  const back = toSwagger(DocumentType, decoded) as Json;

  test("the whole served document decodes back to the JSON document", () => {
    expect(bytes.length).toBeGreaterThan(10_000);
    expect(back).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  test("a few fields where kubectl reads them", () => {
    expect(decoded.swagger).toBe("2.0");
    expect(decoded.info.title).toBe("Kubernetes");
    const defs = decoded.definitions.additional_properties as Json[];
    const deployment = defs.find((d) => d.name === "io.k8s.api.apps.v1.Deployment")!.value;
    expect(deployment.type.value).toEqual(["object"]);
    const gvk = deployment.vendor_extension.find((e: Json) => e.name === "x-kubernetes-group-version-kind");
    expect(Bun.YAML.parse(gvk.value.yaml)).toEqual([{ group: "apps", version: "v1", kind: "Deployment" }]);
    const props = (s: Json) => Object.fromEntries((s.properties.additional_properties as Json[]).map((p) => [p.name, p.value]));
    expect(props(deployment).metadata._ref).toBe("#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    const def = (name: string) => defs.find((d) => d.name === name)!.value;
    expect(props(deployment).spec._ref).toBe("#/definitions/io.k8s.api.apps.v1.DeploymentSpec");
    const replicas = props(def("io.k8s.api.apps.v1.DeploymentSpec")).replicas;
    expect(replicas.type.value).toEqual(["integer"]);
    expect(replicas.format).toBe("int32");
    // The strategic-merge-patch metadata on a list of containers.
    const pod = defs.find((d) => d.name === "io.k8s.api.core.v1.Pod")!.value;
    expect(props(pod).spec._ref).toBe("#/definitions/io.k8s.api.core.v1.PodSpec");
    const containers = props(def("io.k8s.api.core.v1.PodSpec")).containers;
    const ext = Object.fromEntries((containers.vendor_extension as Json[]).map((e) => [e.name, Bun.YAML.parse(e.value.yaml)]));
    expect(ext).toMatchObject({ "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge" });
    expect(containers.items.schema).toHaveLength(1);
  });

  test("parameters keep their kind: body, query and path", () => {
    const paths = decoded.paths.path as Json[];
    const item = paths.find((p) => p.name === "/apis/apps/v1/namespaces/{namespace}/deployments/{name}")!.value;
    const patchParams = item.patch.parameters as Json[];
    const query = patchParams.map((p) => p.parameter.non_body_parameter?.query_parameter_sub_schema).filter(Boolean);
    expect(query.map((q) => q.name)).toContain("fieldValidation");
    const body = patchParams.find((p) => p.parameter.body_parameter)!.parameter.body_parameter;
    expect(body).toMatchObject({ name: "body", in: "body", required: true, schema: { _ref: "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch" } });
    const pathParams = (item.parameters as Json[]).map((p) => p.parameter.non_body_parameter.path_parameter_sub_schema).filter(Boolean);
    expect(pathParams.map((p) => p.name).sort()).toEqual(["name", "namespace"]);
    expect(pathParams[0]).toMatchObject({ required: true, in: "path", type: "string", unique_items: true });
  });

  test("schemas the Kubernetes document does not use round-trip too", () => {
    const small = {
      swagger: "2.0",
      info: { title: "t", version: "v", description: "d" },
      host: "h",
      basePath: "/b",
      schemes: ["https"],
      consumes: ["application/json"],
      produces: ["application/json"],
      tags: [{ name: "tag", description: "about", externalDocs: { url: "https://example.invalid" } }],
      paths: {
        "/x": {
          parameters: [{ $ref: "#/parameters/p" }],
          get: {
            summary: "s",
            deprecated: true,
            parameters: [
              { name: "h", in: "header", type: "string" },
              { name: "f", in: "formData", type: "integer", allowEmptyValue: true, minimum: -5, maximum: 1e20, exclusiveMaximum: true, multipleOf: 0.5 },
              { name: "l", in: "query", type: "array", items: { type: "string", enum: ["a", "b"] }, collectionFormat: "csv", maxItems: 3, default: ["a"] },
            ],
            responses: { "200": { $ref: "#/responses/ok" }, default: { description: "err" }, "x-r": 1 },
            security: [{ k: ["read", "write"] }],
          },
        },
        "x-paths": { any: "thing" },
      },
      definitions: {
        D: {
          type: ["object", "null"],
          title: "T",
          readOnly: true,
          additionalProperties: false,
          properties: { n: { type: "number", default: 1.5, minLength: 2, maxLength: 9_007_199_254_740_991 } },
          allOf: [{ $ref: "#/definitions/E" }, {}],
          example: { a: [1, "two", null, true] },
          "x-weird": "yes: no # not a comment",
        },
        E: { items: [{ type: "string" }, { type: "integer" }], minProperties: 1, maxProperties: 4, discriminator: "kind" },
        F: { additionalProperties: true },
      },
      securityDefinitions: { k: { type: "apiKey", name: "authorization", in: "header" }, b: { type: "basic", description: "basic" } },
      security: [{ k: [] }],
      externalDocs: { description: "more" },
      "x-top": { nested: ["é", "tab\there", 'quote"'] },
    };
    const round = toSwagger(DocumentType, decode(encodeOpenApiV2Document(small))) as Json;
    expect(round).toEqual(small);
  });

  test("keys outside the supported subset are refused, naming where they are", () => {
    expect(() => encodeOpenApiV2Document({ swagger: "2.0", definitions: { A: { properties: { b: { xml: { name: "x" } } } } } })).toThrow(
      '$.definitions["A"].properties["b"].xml',
    );
    expect(() => encodeOpenApiV2Document({ swagger: "2.0", paths: { "/": { get: { parameters: [{ name: "c", in: "cookie" }] } } } })).toThrow("cookie");
  });
});

describe("yamlFlow", () => {
  test("YAML parsers read back exactly the JSON value, whatever the strings hold", () => {
    const values = [
      [{ group: "", version: "v1", kind: "Pod" }],
      "yes",
      "null",
      "a: b",
      "#not a comment",
      "- item",
      "'single'",
      'dou"ble',
      "line\nbreak",
      "ünïcødé ✓",
      "\u0001",
      12,
      -0.5,
      true,
      null,
      { "key: with colon": ["x, y", { "": "" }] },
    ];
    for (const v of values) expect(Bun.YAML.parse(yamlFlow(v))).toEqual(v);
  });
});
