import { describe, expect, test } from "bun:test";
import { configMaps } from "../../api/resources/core/configmap";
import { deployments } from "../../api/resources/apps/deployment";
import { pods } from "../../api/resources/core/pod";
import { decodeObject, MAX_DECODE_ERRORS, parseText } from "./body";
import { apiErrorOf } from "./testing";


/** A Deployment as JSON text with `key` (an own member, as JSON.parse makes it) at the top, in metadata and in a container. */
const withKey = (key: string) =>
  JSON.parse(`{"apiVersion":"apps/v1","kind":"Deployment","${key}":{"polluted":1},"metadata":{"name":"d","${key}":{"polluted":1}},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i","${key}":{"polluted":1}}]}}}}`);

describe("unknown fields named like Object.prototype members", () => {
  const keys = ["__proto__", "constructor", "toString", "hasOwnProperty"];

  test("Warn and Ignore remove them at the top and nested, Warn says so", () => {
    for (const key of keys) {
      const obj = withKey(key);
      expect(decodeObject(obj, deployments.schema, "Warn").warnings).toEqual([
        `unknown field "${key}"`,
        `unknown field "metadata.${key}"`,
        `unknown field "spec.template.spec.containers[0].${key}"`,
      ]);
      expect(JSON.stringify(obj)).not.toContain(key);
      const ignored = withKey(key);
      expect(decodeObject(ignored, deployments.schema, "Ignore").warnings).toEqual([]);
      expect(JSON.stringify(ignored)).not.toContain(key);
      expect(Object.getPrototypeOf(ignored.metadata)).toBe(Object.prototype);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("Strict reports them as unknown fields like any other", () => {
    const e = apiErrorOf(() => decodeObject(withKey("__proto__"), deployments.schema, "Strict"));
    expect(e.code).toBe(400);
    expect(e.message).toBe('strict decoding error: unknown field "__proto__", unknown field "metadata.__proto__", unknown field "spec.template.spec.containers[0].__proto__"');
  });

  test("where the schema takes any key (a ConfigMap's data) they are data and stay", () => {
    const cm = JSON.parse('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"__proto__":"v","constructor":"w"},"extra":1,"__proto__":{"x":1}}');
    expect(decodeObject(cm, configMaps.schema, "Warn").warnings).toEqual(['unknown field "extra"', 'unknown field "__proto__"']);
    expect(JSON.stringify(cm)).toBe('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"__proto__":"v","constructor":"w"}}');
  });
});

describe("decoding errors are bounded", () => {
  test("a body of many small wrong items is refused after the first 1000 errors, cheaply", () => {
    const env = Array.from({ length: 100_000 }, () => ({ n: 1 }));
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "i", env }] } };
    const started = performance.now();
    const e = apiErrorOf(() => decodeObject(pod, pods.schema, "Warn"));
    expect(e.code).toBe(400);
    expect(e.message).toStartWith(`the object could not be decoded: more than ${MAX_DECODE_ERRORS} errors, the first: unknown field "spec.containers[0].env[0].n"`);
    // Not a timed assertion: the figure is printed for the reader (collecting all 200,000 errors costs seconds and gigabytes).
    console.log(`refused after ${MAX_DECODE_ERRORS} of 200,000 errors in ${(performance.now() - started).toFixed(0)} ms`);
  });
});

describe("YAML bodies", () => {
  test("aliases are unshared once measured", () => {
    const v = parseText("a: &x {k: [1]}\nb: *x\n", "application/yaml") as Record<string, { k: number[] }>;
    expect(v.a).toEqual(v.b);
    expect(v.a).not.toBe(v.b);
  });

  test("a billion-laughs body is 400 in go-yaml's words", () => {
    const lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i <= 5; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(", ")}]`);
    const e = apiErrorOf(() => parseText(lines.join("\n"), "application/yaml"));
    expect(e.code).toBe(400);
    expect(e.message).toBe("yaml: document contains excessive aliasing");
  });

  test("one that Bun's own parser already refuses gets the same answer", () => {
    const wide = (n: number) => Array(100).fill(n ? `*a${n - 1}` : "x").join(", ");
    const text = `a0: &a0 [${wide(0)}]\na1: &a1 [${wide(1)}]\na2: &a2 [${wide(2)}]\na3: &a3 [${wide(3)}]\n`;
    expect(() => Bun.YAML.parse(text)).toThrow(/Excessive aliasing/);
    const e = apiErrorOf(() => parseText(text, "application/yaml"));
    expect(e.code).toBe(400);
    expect(e.message).toBe("yaml: document contains excessive aliasing");
  });
});
