import { describe, expect, test } from "bun:test";
import { ApiError } from "./errors";
import { checkFieldSelectorFields, labelSelectorFromObject, labelSelectorString, parseFieldSelector, parseLabelSelector } from "./selectors";

const badRequestOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).code).toBe(400);
    expect((e as ApiError).reason).toBe("BadRequest");
    return (e as ApiError).message;
  }
  throw new Error("expected a BadRequest");
};

describe("label selector strings", () => {
  test("every operator", () => {
    const sel = parseLabelSelector("a=b,c!=d,e in (x,y),f notin (z),g,!h");
    expect(sel.requirements.map((r) => [r.key, r.operator, r.values])).toEqual([
      ["a", "=", ["b"]],
      ["c", "!=", ["d"]],
      ["e", "in", ["x", "y"]],
      ["f", "notin", ["z"]],
      ["g", "exists", []],
      ["h", "!", []],
    ]);
    const base = { a: "b", e: "x", g: "1" };
    expect(sel.matches(base)).toBe(true);
    expect(sel.matches({ ...base, c: "d" })).toBe(false);
    expect(sel.matches({ ...base, c: "other" })).toBe(true);
    expect(sel.matches({ ...base, e: "q" })).toBe(false);
    expect(sel.matches({ ...base, f: "z" })).toBe(false);
    expect(sel.matches({ ...base, h: "" })).toBe(false);
    expect(sel.matches({ a: "b", e: "y" })).toBe(false); // g missing
  });

  test("==, whitespace and prefixed keys", () => {
    const sel = parseLabelSelector("  app.kubernetes.io/name == web ,  tier in ( fe , be ) ");
    expect(sel.matches({ "app.kubernetes.io/name": "web", tier: "be" })).toBe(true);
    expect(sel.matches({ "app.kubernetes.io/name": "web" })).toBe(false);
    expect(sel.toString()).toBe("app.kubernetes.io/name==web,tier in (be,fe)");
  });

  test("empty values and an empty selector", () => {
    expect(parseLabelSelector("").isEmpty()).toBe(true);
    expect(parseLabelSelector("").matches({ any: "thing" })).toBe(true);
    expect(parseLabelSelector("   ").matches(undefined)).toBe(true);
    const sel = parseLabelSelector("tier=");
    expect(sel.matches({ tier: "" })).toBe(true);
    expect(sel.matches({})).toBe(false);
    expect(parseLabelSelector("x in (a,,b)").requirements[0].values).toEqual(["", "a", "b"]);
  });

  test("gt and lt compare integers", () => {
    expect(parseLabelSelector("n>3").matches({ n: "10" })).toBe(true);
    expect(parseLabelSelector("n>3").matches({ n: "2" })).toBe(false);
    expect(parseLabelSelector("n<3").matches({ n: "abc" })).toBe(false);
    expect(parseLabelSelector("n<3").matches({})).toBe(false);
  });

  test("canonical string sorts keys and values", () => {
    expect(parseLabelSelector("z=1,a in (c,b),!m,k").toString()).toBe("a in (b,c),k,!m,z=1");
  });

  test("parse errors are BadRequest with upstream-like messages", () => {
    expect(badRequestOf(() => parseLabelSelector("a=b c"))).toBe("found 'c', expected: ',' or 'end of string'");
    expect(badRequestOf(() => parseLabelSelector("a=b,"))).toBe("found 'end of string', expected: identifier after ','");
    expect(badRequestOf(() => parseLabelSelector("a in x"))).toBe("found 'x', expected: '('");
    expect(badRequestOf(() => parseLabelSelector("a in (x"))).toContain("expected: ',', ')' or identifier");
    expect(badRequestOf(() => parseLabelSelector("a foo b"))).toBe("found 'foo', expected: in, notin, =, ==, !=, gt, lt");
    expect(badRequestOf(() => parseLabelSelector("=b"))).toBe("found '=', expected: !, identifier");
    expect(badRequestOf(() => parseLabelSelector("a in ()"))).toContain("values set can't be empty");
    expect(badRequestOf(() => parseLabelSelector("bad key!=x"))).toContain("found 'key'");
    expect(badRequestOf(() => parseLabelSelector("-a=b"))).toContain('unable to parse requirement: key: Invalid value: "-a"');
    expect(badRequestOf(() => parseLabelSelector("a=-b"))).toContain('Invalid value: "-b": a valid label must be');
    expect(badRequestOf(() => parseLabelSelector("n>x"))).toContain("must be an integer");
  });
});

describe("label selector objects", () => {
  test("matchLabels and matchExpressions", () => {
    const sel = labelSelectorFromObject({
      matchLabels: { app: "web" },
      matchExpressions: [
        { key: "tier", operator: "In", values: ["fe", "be"] },
        { key: "env", operator: "NotIn", values: ["prod"] },
        { key: "canary", operator: "DoesNotExist" },
        { key: "team", operator: "Exists" },
      ],
    });
    expect(sel.toString()).toBe("app=web,!canary,env notin (prod),team,tier in (be,fe)");
    expect(sel.matches({ app: "web", tier: "fe", team: "x" })).toBe(true);
    expect(sel.matches({ app: "web", tier: "fe", team: "x", env: "prod" })).toBe(false);
    expect(sel.matches({ app: "web", tier: "fe", team: "x", canary: "1" })).toBe(false);
    expect(sel.matches({ app: "db", tier: "fe", team: "x" })).toBe(false);
  });

  test("the canonical string round-trips through the string parser", () => {
    const obj = { matchLabels: { b: "2", a: "1" }, matchExpressions: [{ key: "c", operator: "In", values: ["y", "x"] }] };
    const s = labelSelectorString(obj);
    expect(s).toBe("a=1,b=2,c in (x,y)");
    expect(parseLabelSelector(s).toString()).toBe(s);
  });

  test("nil selects nothing, empty selects everything", () => {
    expect(labelSelectorFromObject(undefined).matches({ a: "b" })).toBe(false);
    expect(labelSelectorFromObject(null).matchesNothing).toBe(true);
    expect(labelSelectorFromObject({}).matches({ a: "b" })).toBe(true);
    expect(labelSelectorFromObject({}).isEmpty()).toBe(true);
  });

  test("bad operators are BadRequest", () => {
    expect(badRequestOf(() => labelSelectorFromObject({ matchExpressions: [{ key: "a", operator: "Equals", values: ["b"] }] }))).toBe(
      '"Equals" is not a valid label selector operator',
    );
  });
});

describe("field selectors", () => {
  const pod: Record<string, string> = { "metadata.name": "web", "metadata.namespace": "default", "status.phase": "Running" };
  const get = (f: string) => pod[f];

  test("=, == and !=", () => {
    expect(parseFieldSelector("metadata.name=web").matches(get)).toBe(true);
    expect(parseFieldSelector("metadata.name==web,status.phase=Running").matches(get)).toBe(true);
    expect(parseFieldSelector("status.phase!=Running").matches(get)).toBe(false);
    expect(parseFieldSelector("status.phase!=Pending").matches(get)).toBe(true);
    expect(parseFieldSelector("metadata.name=db").matches(get)).toBe(false);
  });

  test("a missing field is the empty string", () => {
    expect(parseFieldSelector("spec.nodeName=").matches(get)).toBe(true);
    expect(parseFieldSelector("spec.nodeName=node1").matches(get)).toBe(false);
    expect(parseFieldSelector("spec.nodeName!=").matches(get)).toBe(false);
  });

  test("requirements, exact matches and rendering", () => {
    const sel = parseFieldSelector("spec.nodeName=n1,status.phase!=Failed");
    expect(sel.requirements).toEqual([
      { field: "spec.nodeName", operator: "=", value: "n1" },
      { field: "status.phase", operator: "!=", value: "Failed" },
    ]);
    expect(sel.exactMatch("spec.nodeName")).toBe("n1");
    expect(sel.exactMatch("status.phase")).toBeUndefined();
    expect(sel.toString()).toBe("spec.nodeName=n1,status.phase!=Failed");
    expect(parseFieldSelector("").isEmpty()).toBe(true);
    expect(parseFieldSelector("").matches(get)).toBe(true);
  });

  test("escapes", () => {
    const sel = parseFieldSelector("metadata.name=a\\,b\\=c,x=y");
    expect(sel.requirements[0]).toEqual({ field: "metadata.name", operator: "=", value: "a,b=c" });
    expect(sel.toString()).toBe("metadata.name=a\\,b\\=c,x=y");
    expect(badRequestOf(() => parseFieldSelector("a=b\\q"))).toContain("invalid escape sequence");
  });

  test("a term without an operator is BadRequest", () => {
    expect(badRequestOf(() => parseFieldSelector("metadata.name"))).toBe("invalid selector: 'metadata.name'; can't understand 'metadata.name'");
  });

  test("unsupported fields", () => {
    const sel = parseFieldSelector("spec.foo=x");
    expect(badRequestOf(() => checkFieldSelectorFields(sel, ["metadata.name"]))).toBe("field label not supported: spec.foo");
    expect(() => checkFieldSelectorFields(parseFieldSelector("metadata.name=x"), ["metadata.name"])).not.toThrow();
  });
});
