import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKey, readKeyFile, writeKeyFile } from "./key-file";

const dir = mkdtempSync(join(tmpdir(), "bramble-keyfile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("written 0600 in a 0700 folder, read back in order", () => {
  const path = join(dir, "cred", "encryption-config.json");
  const a = generateKey(new Date("2026-12-07T21:22:33.456Z"));
  const b = generateKey(new Date("2026-12-07T21:22:33.999Z"), new Set([a.name]));
  expect(a.name).toBe("aesgcmkey-20261207T212233Z");
  expect(b.name).toBe("aesgcmkey-20261207T212233Z-2");
  writeKeyFile(path, [b, a]);
  expect(statSync(path).mode & 0o777).toBe(0o600);
  expect(statSync(join(dir, "cred")).mode & 0o777).toBe(0o700);
  expect(readKeyFile(path).map((k) => [k.name, Buffer.from(k.secret).toString("hex")])).toEqual(
    [b, a].map((k) => [k.name, Buffer.from(k.secret).toString("hex")]),
  );
});

test("a malformed file is refused with what is wrong", () => {
  const path = join(dir, "bad.json");
  const config = (keys: unknown) => JSON.stringify({ kind: "EncryptionConfiguration", apiVersion: "apiserver.config.k8s.io/v1", resources: [{ resources: ["secrets"], providers: [{ aesgcm: { keys } }, { identity: {} }] }] });
  const cases: Array<[string, RegExp]> = [
    ["{", /cannot be read as JSON/],
    [JSON.stringify({ kind: "Other" }), /not an EncryptionConfiguration/],
    [config([]), /must be aesgcm with at least one key/],
    [config([{ name: "a:b", secret: Buffer.alloc(32).toString("base64") }]), /the name must be/],
    [config([{ name: "k", secret: Buffer.alloc(20).toString("base64") }]), /16, 24 or 32 bytes/],
    [config([{ name: "k", secret: "not base64!" }]), /16, 24 or 32 bytes/],
    [config([{ name: "k", secret: Buffer.alloc(32).toString("base64") }, { name: "k", secret: Buffer.alloc(32).toString("base64") }]), /listed twice/],
  ];
  for (const [text, message] of cases) {
    writeFileSync(path, text);
    expect(() => readKeyFile(path)).toThrow(message);
  }
});
