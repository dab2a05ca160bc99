import { describe, expect, test } from "bun:test";
import { applyDefaults, prune, structuralProblems, unknownFields, validateValue, type JSONSchemaProps } from "./structural";
import { evalJsonPath, setPath } from "./jsonpath";

const messages = (value: unknown, schema: JSONSchemaProps) => validateValue(value, schema).map((e) => `${e.field}: ${e.message}`);

describe("validation against a version's schema", () => {
  const schema: JSONSchemaProps = {
    type: "object",
    properties: {
      spec: {
        type: "object",
        required: ["image"],
        properties: {
          image: { type: "string", pattern: "^[a-z]+$", minLength: 2, maxLength: 5 },
          replicas: { type: "integer", format: "int32", minimum: 1, maximum: 10 },
          ratio: { type: "number", minimum: 0, exclusiveMinimum: true, maximum: 1, exclusiveMaximum: true },
          mode: { type: "string", enum: ["a", "b"] },
          when: { type: "string", format: "date-time" },
          port: { "x-kubernetes-int-or-string": true },
          tags: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 2 },
          env: { type: "object", additionalProperties: { type: "integer" } },
          note: { type: "string", nullable: true },
          big: { type: "integer", format: "int64" },
        },
      },
    },
  };

  test("a valid object has no problems", () => {
    expect(messages({ spec: { image: "nginx", replicas: 3, ratio: 0.5, mode: "a", when: "2024-01-02T03:04:05Z", port: 80, tags: ["x"], env: { A: 1 }, note: null, big: 2 ** 40 } }, schema)).toEqual([]);
    expect(messages({ spec: { image: "ab", port: "http" } }, schema)).toEqual([]);
  });

  test("types, with upstream's wording", () => {
    expect(messages({ spec: { image: "ab", replicas: "string" } }, schema)).toEqual(['spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"']);
    expect(messages({ spec: { image: 5 } }, schema)).toEqual(['spec.image: Invalid value: 5: spec.image in body must be of type string: "integer"']);
    expect(messages({ spec: { image: "ab", replicas: 1.5 } }, schema)).toEqual(['spec.replicas: Invalid value: 1.5: spec.replicas in body must be of type integer: "number"']);
    expect(messages({ spec: { image: "ab", port: true } }, schema)).toEqual(['spec.port: Invalid value: true: spec.port in body must be of type integer,string: "boolean"']);
    expect(messages({ spec: { image: "ab", mode: null } }, schema)).toEqual(['spec.mode: Invalid value: null: spec.mode in body must be of type string: "null"']);
    expect(messages({ spec: { image: "ab", env: { A: "x" } } }, schema)).toEqual(['spec.env.A: Invalid value: "x": spec.env.A in body must be of type integer: "string"']);
  });

  test("required, enum, pattern, lengths, bounds, items, formats", () => {
    expect(messages({ spec: {} }, schema)).toEqual(["spec.image: Required value"]);
    expect(messages({ spec: { image: "ab", mode: "c" } }, schema)).toEqual(['spec.mode: Unsupported value: "c": supported values: "a", "b"']);
    expect(messages({ spec: { image: "A1" } }, schema)).toEqual(["spec.image: Invalid value: \"A1\": spec.image in body should match '^[a-z]+$'"]);
    expect(messages({ spec: { image: "a" } }, schema)).toEqual(['spec.image: Invalid value: "a": spec.image in body should be at least 2 chars long']);
    expect(messages({ spec: { image: "abcdef" } }, schema)).toEqual(["spec.image: Too long: must have at most 5 bytes"]);
    expect(messages({ spec: { image: "ab", replicas: 0 } }, schema)).toEqual(["spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"]);
    expect(messages({ spec: { image: "ab", replicas: 11 } }, schema)).toEqual(["spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"]);
    expect(messages({ spec: { image: "ab", ratio: 0 } }, schema)).toEqual(["spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0"]);
    expect(messages({ spec: { image: "ab", ratio: 1 } }, schema)).toEqual(["spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1"]);
    expect(messages({ spec: { image: "ab", tags: [] } }, schema)).toEqual(["spec.tags: Invalid value: []: spec.tags in body should have at least 1 items"]);
    expect(messages({ spec: { image: "ab", tags: ["a", "b", "c"] } }, schema)).toEqual(["spec.tags: Too many: 3: must have at most 2 items"]);
    expect(messages({ spec: { image: "ab", tags: [1] } }, schema)).toEqual(['spec.tags[0]: Invalid value: 1: spec.tags[0] in body must be of type string: "integer"']);
    expect(messages({ spec: { image: "ab", when: "yesterday" } }, schema)).toEqual(['spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"']);
    expect(messages({ spec: { image: "ab", replicas: 2 ** 33, big: 2 ** 33 } }, schema)[0]).toContain("must be of type int32");
  });

  test("embedded resources need apiVersion and kind", () => {
    const s: JSONSchemaProps = { type: "object", properties: { template: { type: "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true } } };
    expect(messages({ template: {} }, s)).toEqual(["template.apiVersion: Required value: must not be empty", "template.kind: Required value: must not be empty"]);
    expect(messages({ template: { apiVersion: "v1", kind: "Pod" } }, s)).toEqual([]);
  });
});

describe("pruning and defaulting", () => {
  const schema: JSONSchemaProps = {
    type: "object",
    properties: {
      spec: {
        type: "object",
        properties: {
          a: { type: "string", default: "x" },
          nested: { type: "object", default: {}, properties: { n: { type: "integer", default: 3 } } },
          list: { type: "array", items: { type: "object", properties: { k: { type: "string", default: "d" } } } },
          map: { type: "object", additionalProperties: { type: "object", properties: { v: { type: "integer" } } } },
          open: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
          pod: { type: "object", "x-kubernetes-embedded-resource": true, properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } },
        },
      },
    },
  };

  test("unknown fields go, except under preserve-unknown-fields and an embedded object's envelope", () => {
    const obj: any = {
      apiVersion: "x/v1",
      kind: "X",
      metadata: { name: "n" },
      extra: 1,
      spec: { a: "y", b: 2, list: [{ k: "1", z: 1 }], map: { one: { v: 1, w: 2 } }, open: { any: { deep: true } }, pod: { apiVersion: "v1", kind: "Pod", metadata: {}, spec: { c: 1 }, junk: 1 } },
    };
    prune(obj, schema);
    expect(obj).toEqual({
      apiVersion: "x/v1",
      kind: "X",
      metadata: { name: "n" },
      spec: { a: "y", list: [{ k: "1" }], map: { one: { v: 1 } }, open: { any: { deep: true } }, pod: { apiVersion: "v1", kind: "Pod", metadata: {}, spec: { c: 1 } } },
    });
  });

  test("the fields pruning drops are named for field validation, the object left alone", () => {
    const obj: any = { metadata: {}, extra: 1, spec: { b: 2, list: [{ z: 1 }], open: { kept: 1 } } };
    expect(unknownFields(obj, schema)).toEqual(["extra", "spec.b", "spec.list[0].z"]);
    expect(obj.extra).toBe(1);
  });

  test("defaults fill what is missing, nested objects and list items too", () => {
    const obj: any = { spec: { list: [{}, { k: "given" }] } };
    applyDefaults(obj, schema);
    expect(obj.spec).toEqual({ a: "x", nested: { n: 3 }, list: [{ k: "d" }, { k: "given" }] });
  });
});

describe("structural schemas", () => {
  test("every field has a type, the root is an object", () => {
    const problems = structuralProblems({ type: "object", properties: { spec: { properties: { x: { type: "string" } } }, list: { type: "array" }, free: { "x-kubernetes-preserve-unknown-fields": true } } }, "spec.versions[0].schema.openAPIV3Schema");
    expect(problems.map((e) => `${e.field}: ${e.message}`)).toEqual([
      "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
      "spec.versions[0].schema.openAPIV3Schema.properties[list].items: Required value: must be specified",
    ]);
    expect(structuralProblems({ type: "string" }, "s").map((e) => e.message)).toEqual(['Invalid value: "string": must be object at the root']);
  });
});

describe("schemas sent as free JSON", () => {
  test("keywords of the wrong type, bad patterns and invalid defaults are named, never thrown", () => {
    const at = "s";
    const msgs = (schema: unknown) => structuralProblems({ type: "object", properties: { x: schema as JSONSchemaProps } }, at).map((e) => `${e.field}: ${e.message}`);
    expect(msgs({ type: "string", required: 5 })).toEqual(["s.properties[x].required: Invalid value: 5: must be a list of strings"]);
    expect(msgs({ type: "strin" })).toEqual(['s.properties[x].type: Unsupported value: "strin": supported values: "object", "array", "string", "integer", "number", "boolean"']);
    expect(msgs({ type: "string", pattern: "[" })[0]).toStartWith('s.properties[x].pattern: Invalid value: "[": must be a valid regular expression');
    expect(msgs({ type: "object", properties: { a: "b" } })).toEqual(['s.properties[x].properties: Invalid value: {"a":"b"}: must be a map of schemas']);
    expect(msgs({ type: "integer", default: "one" })).toEqual(['s.properties[x].default: Invalid value: "one": s.properties[x].default in body must be of type integer: "string"']);
    expect(msgs({ type: "string", anyOf: [1] })).toEqual(["s.properties[x].anyOf: Invalid value: [1]: must be a list of schemas"]);
    for (const junk of [null, 1, "x", [], { items: 3 }, { type: "array", items: [] }, { minLength: -1 }, { enum: "a" }])
      expect(() => structuralProblems({ type: "object", properties: { x: junk as JSONSchemaProps } }, at)).not.toThrow();
  });
});

describe("JSONPath of printer columns", () => {
  const obj = { spec: { replicas: 2 }, status: { conditions: [{ type: "Ready", status: "True" }, { type: "Synced", status: "False" }] }, metadata: { labels: { "app.kubernetes.io/name": "w" } } };
  test("fields, filters, indexes, quoted keys", () => {
    expect(evalJsonPath(obj, ".spec.replicas")).toEqual([2]);
    expect(evalJsonPath(obj, '.status.conditions[?(@.type=="Synced")].status')).toEqual(["False"]);
    expect(evalJsonPath(obj, ".status.conditions[0].type")).toEqual(["Ready"]);
    expect(evalJsonPath(obj, ".status.conditions[*].type")).toEqual(["Ready", "Synced"]);
    expect(evalJsonPath(obj, ".metadata.labels['app.kubernetes.io/name']")).toEqual(["w"]);
    expect(evalJsonPath(obj, ".spec.missing")).toEqual([]);
    const o: any = {};
    setPath(o, ".spec.replicas", 3);
    expect(o).toEqual({ spec: { replicas: 3 } });
  });
});
