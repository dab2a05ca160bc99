import { expect, test } from "bun:test";
import { boolQueryParam, queryBool } from "./bool-param";

// apimachinery's Convert_Slice_string_To_bool, value by value: "0" and "false" under Go's
// strings.EqualFold are false; every other value, the empty string and a lone "f" included,
// is true.
const TABLE: [string, boolean][] = [
  ["0", false],
  ["false", false],
  ["False", false],
  ["FALSE", false],
  ["fAlSe", false],
  ["fAlse", false],
  ["falſe", false], // U+017F folds to "s" under EqualFold
  ["FALſE", false],
  ["1", true],
  ["t", true],
  ["T", true],
  ["TRUE", true],
  ["true", true],
  ["True", true],
  ["tRUE", true],
  ["", true],
  ["yes", true],
  ["no", true],
  ["f", true],
  ["F", true],
  ["n", true],
  ["off", true],
  ["2", true],
  ["-1", true],
  ["00", true],
  ["01", true],
  ["-0", true],
  [" 0", true],
  [" false", true],
  ["false ", true],
  ["falsey", true],
  ["fals", true],
  ["on", true],
  ["y", true],
  ["ｆａｌｓｅ", true], // fullwidth letters do not fold to ASCII
  ["\u212Aalse", true], // the Kelvin sign folds to "k", not to any letter of "false"
];

test.each(TABLE)("queryBool(%j) is %p", (raw, want) => {
  expect(queryBool(raw)).toBe(want);
});

test("a query parameter: absent is the caller's default, the first value counts, no value is refused", () => {
  const q = (s: string) => new URLSearchParams(s);
  expect(boolQueryParam(q(""), "watch")).toBe(false);
  expect(boolQueryParam(q(""), "watch", true)).toBe(true);
  expect(boolQueryParam(q("other=1"), "watch", true)).toBe(true);
  expect(boolQueryParam(q("watch=True"), "watch")).toBe(true);
  expect(boolQueryParam(q("watch=False"), "watch", true)).toBe(false);
  expect(boolQueryParam(q("watch=0"), "watch", true)).toBe(false);
  expect(boolQueryParam(q("watch=1&watch=false"), "watch")).toBe(true);
  expect(boolQueryParam(q("watch=false&watch=1"), "watch", true)).toBe(false);
  expect(boolQueryParam(q("watch=yes"), "watch")).toBe(true);
  expect(boolQueryParam(q("watch="), "watch")).toBe(true);
  expect(boolQueryParam(q("watch"), "watch")).toBe(true);
  expect(boolQueryParam(q("watch=%22x"), "watch")).toBe(true);
  expect(boolQueryParam(q("watch=%46ALSE"), "watch", true)).toBe(false);
  expect(boolQueryParam(q("watch=%C5%BF"), "watch")).toBe(true);
  expect(boolQueryParam(q("watch=fal%C5%BFe"), "watch", true)).toBe(false);
});
