import { expect, test } from "bun:test";
import { verbOf } from "./request-attributes";

const url = (query: string) => new URL(`https://h/api/v1/namespaces/d/secrets?${query}`);

test("the verb judged is the one the handler serves: watch in every spelling the handler streams for", () => {
  for (const spelling of ["True", "true", "t", "1", "TRUE", "yes", "f", "", "please"]) {
    expect({ spelling, verb: verbOf("GET", url(`watch=${spelling}`), false) }).toEqual({ spelling, verb: "watch" });
    expect({ spelling, verb: verbOf("GET", url(`watch=${spelling}`), true) }).toEqual({ spelling, verb: "watch" });
  }
  expect(verbOf("GET", url("watch"), false)).toBe("watch");
  for (const spelling of ["False", "false", "FALSE", "fAlSe", "0"]) {
    expect({ spelling, verb: verbOf("GET", url(`watch=${spelling}`), false) }).toEqual({ spelling, verb: "list" });
    expect({ spelling, verb: verbOf("GET", url(`watch=${spelling}`), true) }).toEqual({ spelling, verb: "get" });
  }
  expect(verbOf("GET", url(""), true)).toBe("get");
  expect(verbOf("GET", url(""), false)).toBe("list");
});
