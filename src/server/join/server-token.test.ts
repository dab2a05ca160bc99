import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseJoinToken } from "../../api/join-token";
import { ensureServerToken, serverTokenMatches } from "./server-token";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "bramble-server-token-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const HASH = `sha256:${"ab".repeat(32)}`;
const OTHER = `sha256:${"cd".repeat(32)}`;

test("generated once, kept owner-only in k3s's full form, and reused", () => {
  const d = tmp();
  const a = ensureServerToken(d, HASH);
  expect(a.created).toBe(true);
  expect(a.secret).toMatch(/^[0-9a-f]{64}$/);
  expect(a.full).toBe(`K10${"ab".repeat(32)}::server:${a.secret}`);
  expect(readFileSync(a.path, "utf8")).toBe(a.full + "\n");
  expect(statSync(a.path).mode & 0o777).toBe(0o600);
  expect(ensureServerToken(d, HASH)).toEqual({ ...a, created: false });
  // What the agent makes of the file's content: the secret, and the pin.
  expect(parseJoinToken(a.full)).toEqual({ credential: a.secret, caCertHash: HASH });
});

test("--token wins (bare or full) and is remembered; a full token for another CA is refused", () => {
  const d = tmp();
  ensureServerToken(d, HASH);
  expect(ensureServerToken(d, HASH, "my-secret").secret).toBe("my-secret");
  expect(ensureServerToken(d, HASH).full).toBe(`K10${"ab".repeat(32)}::server:my-secret`);
  expect(ensureServerToken(d, HASH, `K10${"AB".repeat(32)}::server:other`).secret).toBe("other");
  expect(() => ensureServerToken(d, HASH, `K10${"cd".repeat(32)}::server:x`)).toThrow(`--token: the token is for a cluster whose CA hash is ${OTHER}`);
  expect(() => ensureServerToken(d, HASH, "K10zz::server:x")).toThrow("--token: not a server token");
  expect(ensureServerToken(d, HASH).secret).toBe("other");
});

test("a file written for an earlier CA keeps its secret and gets the current hash", () => {
  const d = tmp();
  const old = ensureServerToken(d, OTHER);
  const now = ensureServerToken(d, HASH);
  expect(now.secret).toBe(old.secret);
  expect(readFileSync(now.path, "utf8").trim()).toBe(`K10${"ab".repeat(32)}::server:${old.secret}`);
});

test("a bare secret left in the file is kept and rewritten in full form, mode 0600", () => {
  const d = tmp();
  mkdirSync(join(d, "server"), { recursive: true });
  writeFileSync(join(d, "server", "token"), "old-secret\n");
  chmodSync(join(d, "server", "token"), 0o644);
  const t = ensureServerToken(d, HASH);
  expect(t.secret).toBe("old-secret");
  expect(readFileSync(t.path, "utf8").trim()).toBe(t.full);
  expect(statSync(t.path).mode & 0o777).toBe(0o600);
});

test("matching compares the whole secret", () => {
  const t = ensureServerToken(tmp(), HASH, "s3cret");
  expect(serverTokenMatches(t, "s3cret")).toBe(true);
  for (const wrong of ["s3cre", "s3cret ", "S3CRET", "", t.full]) expect(serverTokenMatches(t, wrong)).toBe(false);
  expect(serverTokenMatches(undefined, "s3cret")).toBe(false);
});
