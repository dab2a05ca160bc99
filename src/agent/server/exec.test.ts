import { expect, test } from "bun:test";
import { ApiError } from "../../api/errors";
import { parseExecQuery } from "./exec";

const q = (s: string) => new URLSearchParams(s);

test("exec's flags read as upstream's kubelet reads them (the Python client sends True/False): only 0 and false are off", () => {
  expect(parseExecQuery(q("command=ls&stdin=False&stdout=True&stderr=t&tty=0"))).toEqual({ command: ["ls"], stdin: false, stdout: true, stderr: true, tty: false });
  expect(parseExecQuery(q("command=sh&stdin=1&stdout=TRUE&tty=T"))).toMatchObject({ stdin: true, stdout: true, tty: true });
  expect(parseExecQuery(q("command=ls&stdout=yes"))).toEqual({ command: ["ls"], stdin: false, stdout: true, stderr: false, tty: false });
  expect(parseExecQuery(q("command=ls&stdout=f&stderr=&stdin=FALSE"))).toEqual({ command: ["ls"], stdin: false, stdout: true, stderr: true, tty: false });
  expect(parseExecQuery(q("command=ls&stderr"))).toMatchObject({ stdin: false, stdout: false, stderr: true });
});

test("with a tty there is no separate stderr: asking for both drops stderr, as upstream's kubelet does", () => {
  expect(parseExecQuery(q("command=sh&stdin=True&stdout=True&stderr=True&tty=True"))).toMatchObject({ stdout: true, stderr: false, tty: true });
});

test("no stream at all, absent or switched off in any spelling, is a 400", () => {
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
  expect(refused("command=ls")).toBe("you must specify at least 1 of stdin, stdout, stderr");
  expect(refused("command=ls&stdout=False&tty=true")).toBe("you must specify at least 1 of stdin, stdout, stderr");
  expect(refused("command=ls&stdin=0&stdout=fAlSe&stderr=FALSE&tty=yes")).toBe("you must specify at least 1 of stdin, stdout, stderr");
});
