import { expect, test } from "bun:test";
import { ApiError } from "../../api/errors";
import { parseExecQuery } from "./exec";

const q = (s: string) => new URLSearchParams(s);

test("exec's flags in any spelling strconv.ParseBool takes (the Python client sends True/False)", () => {
  expect(parseExecQuery(q("command=ls&stdin=False&stdout=True&stderr=t&tty=0"))).toEqual({ command: ["ls"], stdin: false, stdout: true, stderr: true, tty: false });
  expect(parseExecQuery(q("command=sh&stdin=1&stdout=TRUE&tty=T"))).toMatchObject({ stdin: true, stdout: true, tty: true });
});

test("with a tty there is no separate stderr: asking for both drops stderr, as upstream's kubelet does", () => {
  expect(parseExecQuery(q("command=sh&stdin=True&stdout=True&stderr=True&tty=True"))).toMatchObject({ stdout: true, stderr: false, tty: true });
});

test("a flag that is no boolean, or no stream at all, is a 400", () => {
  const refused = (s: string) => {
    try {
      parseExecQuery(q(s));
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).code).toBe(400);
      return (e as ApiError).message;
    }
    throw new Error(`accepted ${s}`);
  };
  expect(refused("command=ls&stdout=yes")).toBe('stdout: Invalid value: "yes": strconv.ParseBool: parsing "yes": invalid syntax');
  expect(refused("command=ls&stdout=False&tty=true")).toBe("you must specify at least 1 of stdin, stdout, stderr");
});
