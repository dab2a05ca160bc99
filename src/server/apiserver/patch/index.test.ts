import { describe, expect, test } from "bun:test";
import { applyPatch, isPatchContentType, JSON_PATCH, MAX_JSON_PATCH_OPERATIONS, MERGE_PATCH, STRATEGIC_MERGE_PATCH } from "./index";
import { deployment, DeploymentSchema } from "./testdata";
import { apiErrorOf } from "../testing";

const jp = (ops: unknown, doc: object = deployment()) => applyPatch(JSON_PATCH, doc, ops, DeploymentSchema) as any;
const mp = (patch: unknown, doc: object = deployment()) => applyPatch(MERGE_PATCH, doc, patch, DeploymentSchema) as any;

describe("content types", () => {
  test("parameters and case are ignored", () => {
    const out = applyPatch("Application/Merge-Patch+JSON; charset=utf-8", deployment(), { spec: { replicas: 9 } }, DeploymentSchema) as any;
    expect(out.spec.replicas).toBe(9);
    expect(isPatchContentType("application/strategic-merge-patch+json")).toBe(true);
    expect(isPatchContentType("application/json")).toBe(false);
  });

  test("anything else is 415", () => {
    const e = apiErrorOf(() => applyPatch("application/json", deployment(), {}, DeploymentSchema));
    expect(e.code).toBe(415);
    expect(e.reason).toBe("UnsupportedMediaType");
    expect(apiErrorOf(() => applyPatch("application/apply-patch+yaml", deployment(), {}, DeploymentSchema)).code).toBe(415);
  });

  test("merge and strategic patches must be objects", () => {
    expect(apiErrorOf(() => mp([1])).code).toBe(400);
    expect(apiErrorOf(() => mp("x")).code).toBe(400);
    expect(apiErrorOf(() => applyPatch(STRATEGIC_MERGE_PATCH, deployment(), null, DeploymentSchema)).code).toBe(400);
  });
});

describe("JSON patch (RFC 6902)", () => {
  test("replace, add, remove", () => {
    const out = jp([
      { op: "replace", path: "/spec/replicas", value: 3 },
      { op: "add", path: "/metadata/labels/env", value: "prod" },
      { op: "remove", path: "/metadata/labels/tier" },
      { op: "add", path: "/spec/template/spec/containers/-", value: { name: "new", image: "redis" } },
      { op: "test", path: "/spec/template/spec/containers/0/name", value: "web" },
    ]);
    expect(out.spec.replicas).toBe(3);
    expect(out.metadata.labels).toEqual({ app: "web", env: "prod" });
    expect(out.spec.template.spec.containers.map((c: any) => c.name)).toEqual(["web", "sidecar", "new"]);
  });

  test("a failed test op is 422 and nothing is applied", () => {
    const orig = deployment();
    const e = apiErrorOf(() => jp([{ op: "replace", path: "/spec/replicas", value: 7 }, { op: "test", path: "/spec/replicas", value: 1 }], orig));
    expect(e.code).toBe(422);
    expect(e.message).toContain("Test operation failed");
    expect(orig.spec.replicas).toBe(2);
  });

  test("missing paths are 422", () => {
    expect(apiErrorOf(() => jp([{ op: "remove", path: "/spec/nope" }])).code).toBe(422);
    expect(apiErrorOf(() => jp([{ op: "replace", path: "/spec/template/spec/containers/9/image", value: "x" }])).code).toBe(422);
    expect(apiErrorOf(() => jp([{ op: "add", path: "/no/such/parent", value: 1 }])).code).toBe(422);
  });

  test("malformed operations are 400", () => {
    expect(apiErrorOf(() => jp({ op: "add" })).code).toBe(400);
    expect(apiErrorOf(() => jp([{ op: "explode", path: "/a" }])).code).toBe(400);
    expect(apiErrorOf(() => jp([{ op: "add", path: "/spec/x" }])).code).toBe(400);
    expect(apiErrorOf(() => jp(["nope"])).code).toBe(400);
  });

  test("replacing the whole document with a non-object is 400", () => {
    expect(apiErrorOf(() => jp([{ op: "replace", path: "", value: 5 }])).code).toBe(400);
  });

  test("prototype pollution attempts fail cleanly", () => {
    const e = apiErrorOf(() => jp([{ op: "add", path: "/__proto__/polluted", value: "yes" }]));
    expect(e.code).toBe(422);
    expect(e.message).toBe('add operation does not apply: doc is missing path: "/__proto__/polluted"');
    const direct = apiErrorOf(() => jp([{ op: "add", path: "/metadata/__proto__", value: { polluted: "yes" } }]));
    expect(direct.code).toBe(400);
    expect(direct.message).toContain('goes through "__proto__" or "constructor/prototype"');
    expect(apiErrorOf(() => jp([{ op: "add", path: "/constructor/prototype/polluted", value: "yes" }])).code).toBe(422);
    expect(({} as any).polluted).toBeUndefined();
  });

  test("paths resolve through the document's own members only", () => {
    for (const [op, message] of [
      [{ op: "replace", path: "/metadata/constructor", value: 1 }, 'replace operation does not apply: doc is missing path: "/metadata/constructor"'],
      [{ op: "remove", path: "/metadata/hasOwnProperty" }, 'remove operation does not apply: doc is missing path: "/metadata/hasOwnProperty"'],
      [{ op: "test", path: "/spec/toString", value: {} }, 'test operation does not apply: doc is missing path: "/spec/toString"'],
      [{ op: "copy", from: "/constructor", path: "/metadata/c" }, 'copy operation does not apply: doc is missing from path: "/constructor"'],
      [{ op: "move", from: "/metadata/__proto__", path: "/metadata/c" }, 'move operation does not apply: doc is missing from path: "/metadata/__proto__"'],
    ] as const) {
      const e = apiErrorOf(() => jp([op]));
      expect(e.code).toBe(422);
      expect(e.message).toBe(message);
    }
    // A member called "constructor" is plain data once added (the decoder then drops or refuses it).
    expect(Object.prototype.hasOwnProperty.call(jp([{ op: "add", path: "/metadata/constructor", value: 1 }]).metadata, "constructor")).toBe(true);
  });

  test("copies may add at most 3 MiB in total", () => {
    const doc = { ...deployment(), data: { a: "x".repeat(1024 * 1024) } };
    const doubling = [1, 2, 3].map((i) => ({ op: "copy", from: "/data/a", path: `/data/c${i}` }));
    expect(Object.keys(jp(doubling.slice(0, 2), doc).data)).toEqual(["a", "c1", "c2"]);
    const e = apiErrorOf(() => jp(doubling, doc));
    expect(e.code).toBe(422);
    expect(e.message).toBe(`Unable to complete the copy, the accumulated size increase of copy is ${3 * (1024 * 1024 + 2)}, exceeding the limit 3145728`);
    // The classic bomb: each copy doubles the document; it stops at the limit, long before 2^30.
    const bomb = Array.from({ length: 30 }, (_, i) => ({ op: "copy", from: "/spec", path: `/spec/template/metadata/labels/x${i}` }));
    expect(apiErrorOf(() => jp(bomb)).message).toStartWith("Unable to complete the copy");
  });

  test("too many operations", () => {
    const ops = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: "test", path: "/kind", value: "Deployment" }));
    const e = apiErrorOf(() => jp(ops));
    expect(e.code).toBe(413);
    expect(e.reason).toBe("RequestEntityTooLarge");
    expect(e.message).toBe("Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001");
  });

  test("an empty patch changes nothing", () => {
    expect(jp([])).toEqual(deployment());
  });
});

describe("JSON merge patch (RFC 7386)", () => {
  test("maps merge, null deletes, lists replace", () => {
    const orig = deployment();
    const out = mp({
      metadata: { labels: { tier: null, env: "prod" } },
      spec: { template: { spec: { containers: [{ name: "only", image: "alpine" }] } } },
    }, orig);
    expect(out.metadata.labels).toEqual({ app: "web", env: "prod" });
    expect(out.spec.template.spec.containers).toEqual([{ name: "only", image: "alpine" }]);
    expect(out.spec.template.spec.nodeSelector).toEqual({ disk: "ssd" });
    expect(orig.metadata.labels.tier).toBe("fe"); // original untouched
  });

  test("RFC 7386 examples", () => {
    const doc = { a: "b", c: { d: "e", f: "g" } };
    expect(applyPatch(MERGE_PATCH, doc, { a: "z", c: { f: null } }, DeploymentSchema)).toEqual({ a: "z", c: { d: "e" } });
    expect(applyPatch(MERGE_PATCH, { a: [{ b: "c" }] }, { a: [1] }, DeploymentSchema)).toEqual({ a: [1] });
    expect(applyPatch(MERGE_PATCH, { a: "foo" }, { a: { bb: { ccc: null } } }, DeploymentSchema)).toEqual({ a: { bb: {} } });
    expect(applyPatch(MERGE_PATCH, { e: null }, { a: 1 }, DeploymentSchema)).toEqual({ e: null, a: 1 });
  });

  test("directives mean nothing here", () => {
    const out = mp({ metadata: { labels: { $patch: "delete" } } });
    expect(out.metadata.labels.$patch).toBe("delete");
  });

  test("__proto__ keys stay data", () => {
    const out = mp(JSON.parse('{"metadata":{"__proto__":{"polluted":"yes"}}}'));
    expect(({} as any).polluted).toBeUndefined();
    expect(out.metadata.polluted).toBeUndefined();
  });
});
