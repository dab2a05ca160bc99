import { expect, test } from "bun:test";
import { ApiError } from "../../api/errors";
import { verbOf } from "./request-attributes";

const url = (query: string) => new URL(`https://h/api/v1/namespaces/d/secrets?${query}`);

test("the verb judged is the one the handler serves: watch in every spelling the handler streams for", () => {
  for (const spelling of ["True", "true", "t", "1", "TRUE"]) {
    expect(verbOf("GET", url(`watch=${spelling}`), false)).toBe("watch");
    expect(verbOf("GET", url(`watch=${spelling}`), true)).toBe("watch");
  }
  for (const spelling of ["False", "false", "f", "0"]) {
    expect(verbOf("GET", url(`watch=${spelling}`), false)).toBe("list");
    expect(verbOf("GET", url(`watch=${spelling}`), true)).toBe("get");
  }
  expect(verbOf("GET", url(""), true)).toBe("get");
});

test("a watch parameter that is no boolean is a 400 before any access decision", () => {
  let err: unknown;
  try {
    verbOf("GET", url("watch=yes"), true);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ApiError);
  expect((err as ApiError).code).toBe(400);
  expect((err as ApiError).message).toBe('watch: Invalid value: "yes": strconv.ParseBool: parsing "yes": invalid syntax');
});
