import { expect, test } from "bun:test";
import { boolQueryParam, parseBool } from "./bool-param";
import { ApiError } from "./errors";

// Go's strconv.ParseBool, value by value: the spellings it accepts and some it refuses.
const TABLE: [string, boolean | undefined][] = [
  ["1", true],
  ["t", true],
  ["T", true],
  ["TRUE", true],
  ["true", true],
  ["True", true],
  ["0", false],
  ["f", false],
  ["F", false],
  ["FALSE", false],
  ["false", false],
  ["False", false],
  ["", undefined],
  ["yes", undefined],
  ["no", undefined],
  ["tRUE", undefined],
  ["fAlse", undefined],
  ["2", undefined],
  ["-1", undefined],
  ["01", undefined],
  [" true", undefined],
  ["true ", undefined],
  ["on", undefined],
  ["y", undefined],
];

test.each(TABLE)("parseBool(%j) is %p", (raw, want) => {
  expect(parseBool(raw)).toBe(want);
});

test("a query parameter: absent is the default, the first value counts, a bad one is a 400 in ParseBool's words", () => {
  const q = (s: string) => new URLSearchParams(s);
  expect(boolQueryParam(q(""), "watch")).toBe(false);
  expect(boolQueryParam(q(""), "watch", true)).toBe(true);
  expect(boolQueryParam(q("watch=True"), "watch")).toBe(true);
  expect(boolQueryParam(q("watch=False"), "watch", true)).toBe(false);
  expect(boolQueryParam(q("watch=1&watch=yes"), "watch")).toBe(true);
  for (const [query, raw] of [["watch=yes", "yes"], ["watch=", ""], ["watch", ""], ["watch=%22x", '"x']] as const) {
    let err: unknown;
    try {
      boolQueryParam(q(query), "watch");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).toStatus()).toMatchObject({ code: 400, reason: "BadRequest", status: "Failure" });
    expect((err as ApiError).message).toBe(`watch: Invalid value: ${JSON.stringify(raw)}: strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`);
  }
});
