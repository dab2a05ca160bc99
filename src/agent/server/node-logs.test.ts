import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeLogs } from "./node-logs";

const top = mkdtempSync(join(tmpdir(), "bramble-node-logs-"));
const root = join(top, "log");
mkdirSync(join(root, "apt"), { recursive: true });
writeFileSync(join(root, "syslog"), "line one\n");
writeFileSync(join(root, "apt", "history.log"), "apt\n");
writeFileSync(join(root, "a<b>.log"), "odd\n");
writeFileSync(join(top, "secret"), "not a log\n");
symlinkSync(join(top, "secret"), join(root, "escape"));
afterAll(() => rmSync(top, { recursive: true, force: true }));

test("a folder is listed as Go's FileServer lists it; a file is its bytes", async () => {
  const list = nodeLogs(root, "/");
  expect(list.headers.get("content-type")).toBe("text/html; charset=utf-8");
  expect(await list.text()).toBe('<pre>\n<a href="a%3Cb%3E.log">a&#60;b&#62;.log</a>\n<a href="apt/">apt/</a>\n<a href="escape">escape</a>\n<a href="syslog">syslog</a>\n</pre>\n');
  expect(await nodeLogs(root, "/syslog").text()).toBe("line one\n");
  expect(await nodeLogs(root, "/apt/history.log").text()).toBe("apt\n");
  expect(await nodeLogs(root, "/a%3Cb%3E.log").text()).toBe("odd\n");
});

test("a folder without its slash and the bare /logs are redirected", () => {
  expect(nodeLogs(root, "").headers.get("location")).toBe("/logs/");
  const r = nodeLogs(root, "/apt");
  expect([r.status, r.headers.get("location")]).toEqual([301, "apt/"]);
});

test("nothing outside the folder: .. (also encoded) and links leading out are 404, like a missing file", () => {
  for (const rest of ["/../secret", "/%2e%2e/secret", "/apt/%2E%2E/%2E%2E/secret", "/escape", "/missing", "/%zz"]) expect({ rest, status: nodeLogs(root, rest).status }).toEqual({ rest, status: 404 });
});
