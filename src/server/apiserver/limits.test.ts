import { describe, expect, test } from "bun:test";
import { checkExpansion, exceedsObjectLimit, jsonTooDeepText, MAX_DEPTH, MAX_OBJECT_BYTES } from "./limits";
import { apiErrorOf } from "./testing";


/** `levels` anchors, each a list of `width` aliases of the one before: width^levels leaves. */
function aliasBomb(width: number, levels: number, leaf = "xxxxxxxxxx"): string {
  const lines = [`a0: &a0 [${Array(width).fill(leaf).join(", ")}]`];
  for (let i = 1; i <= levels; i++) lines.push(`a${i}: &a${i} [${Array(width).fill(`*a${i - 1}`).join(", ")}]`);
  return lines.join("\n");
}

describe("YAML alias expansion", () => {
  test("Bun shares aliased nodes, so a few hundred bytes are megabytes as JSON", () => {
    const v = Bun.YAML.parse(aliasBomb(10, 4)) as Record<string, unknown[]>;
    expect(v.a1![0]).toBe(v.a0); // the same JS value, not a copy
  });

  test("a billion-laughs document is refused in go-yaml's words, without being expanded", () => {
    // 10^6 leaves of 12 bytes each would be 146 MB of JSON; the walk stops at the budget.
    const e = apiErrorOf(() => checkExpansion(Bun.YAML.parse(aliasBomb(10, 5))));
    expect(e.code).toBe(400);
    expect(e.reason).toBe("BadRequest");
    expect(e.message).toBe("yaml: document contains excessive aliasing");
  });

  test("a few aliases are fine, and reported so the caller can unshare them", () => {
    const v = Bun.YAML.parse("base: &b {image: web, ports: [80, 443]}\nc1: *b\nc2: *b\n");
    expect(checkExpansion(v)).toEqual({ aliased: true });
    expect(checkExpansion({ plain: { tree: [1, 2, 3] } })).toEqual({ aliased: false });
  });

  test("go-yaml's ratio: refused once over 99% of what is decoded came from aliases", () => {
    // An anchor of 200 scalars aliased n times: each alias is 1 decode outside the expansion and
    // 201 inside it, so the share of expanded decodes passes 99% at about n = 200.
    const doc = (n: number) => `a: &a [${Array.from({ length: 200 }, (_, i) => i).join(", ")}]\nb: [${Array(n).fill("*a").join(", ")}]`;
    expect(checkExpansion(Bun.YAML.parse(doc(150)))).toEqual({ aliased: true });
    expect(apiErrorOf(() => checkExpansion(Bun.YAML.parse(doc(250)))).message).toBe("yaml: document contains excessive aliasing");
    // Small anchors never reach the ratio (6 of every 7 decodes at most), however often used.
    const small = `a: &a [1, 2, 3, 4, 5]\nb: [${Array(5000).fill("*a").join(", ")}]`;
    expect(checkExpansion(Bun.YAML.parse(small))).toEqual({ aliased: true });
  });

  test("an expansion within the alias ratio but over the object limit is 413", () => {
    // A long scalar is one node however long: aliasing it is cheap for go-yaml's count.
    const big = "x".repeat(200 * 1024);
    const v = Bun.YAML.parse(`s: &s "${big}"\nlist: [${Array(10).fill("*s").join(", ")}]`);
    const e = apiErrorOf(() => checkExpansion(v));
    expect(e.code).toBe(413);
    expect(e.reason).toBe("RequestEntityTooLarge");
    expect(e.message).toBe("etcdserver: request is too large");
  });

  test("nesting deeper than go-yaml's 10000 is refused, without overflowing the stack", () => {
    const nested = (n: number) => {
      let v: unknown = "leaf";
      for (let i = 0; i < n; i++) v = { a: v };
      return v;
    };
    expect(() => checkExpansion(nested(MAX_DEPTH))).not.toThrow();
    const e = apiErrorOf(() => checkExpansion(nested(200_000)));
    expect(e.code).toBe(400);
    expect(e.message).toBe("yaml: exceeded max depth of 10000");
  });
});

describe("stored object size", () => {
  test("the limit is counted in UTF-8 bytes", () => {
    expect(exceedsObjectLimit("x".repeat(MAX_OBJECT_BYTES))).toBe(false);
    expect(exceedsObjectLimit("x".repeat(MAX_OBJECT_BYTES + 1))).toBe(true);
    // 600 Ki characters of three bytes each: under the limit in length, over it in bytes.
    expect(exceedsObjectLimit("€".repeat(600 * 1024))).toBe(true);
  });
});

describe("JSON nesting depth, read from the text", () => {
  test("brackets count outside strings only", () => {
    const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
    expect(jsonTooDeepText(deep(MAX_DEPTH))).toBe(false);
    expect(jsonTooDeepText(deep(MAX_DEPTH + 1))).toBe(true);
    expect(jsonTooDeepText(`{"a":${"{\"b\":".repeat(MAX_DEPTH)}1${"}".repeat(MAX_DEPTH)}}`)).toBe(true);
    // Brackets inside strings, escaped quotes and backslashes are text.
    expect(jsonTooDeepText(JSON.stringify({ s: "[".repeat(MAX_DEPTH + 5), t: '\\"[[[', u: "\\" }))).toBe(false);
    expect(jsonTooDeepText(`["\\\\", ${deep(MAX_DEPTH)}]`)).toBe(true);
  });
});
