// The key file: <data-dir>/server/cred/encryption-config.json, an EncryptionConfiguration in
// kube-apiserver's format (as k3s keeps it, with an aesgcm provider instead of k3s's aescbc):
//   {"kind":"EncryptionConfiguration","apiVersion":"apiserver.config.k8s.io/v1",
//    "resources":[{"resources":["secrets"],"providers":[{"aesgcm":{"keys":[{"name":..,"secret":<base64>}]}},{"identity":{}}]}]}
// The first key encrypts new writes; every listed key decrypts. Owner-only (0600, folder 0700),
// replaced atomically (temporary file, fsync, rename), so a crash leaves the old file or the new one.
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import type { EncryptionKey } from "./envelope";

export const encryptionConfigPath = (dataDir: string) => join(dataDir, "server", "cred", "encryption-config.json");

const KEY_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const KEY_SIZES = [16, 24, 32];

/** A new 256-bit key, named after the time it was made (aesgcmkey-20261207T212233Z). */
export function generateKey(now = new Date(), taken: ReadonlySet<string> = new Set()): EncryptionKey {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  let name = `aesgcmkey-${stamp}`;
  for (let n = 2; taken.has(name); n++) name = `aesgcmkey-${stamp}-${n}`;
  return { name, secret: randomBytes(32) };
}

export function readKeyFile(path: string): EncryptionKey[] {
  const fail = (why: string): never => {
    throw new Error(`secrets encryption: ${path}: ${why} (see docs/secrets-encryption.md)`);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    return fail(`cannot be read as JSON: ${(e as Error).message}`);
  }
  const d = doc as { kind?: unknown; apiVersion?: unknown; resources?: unknown };
  if (d?.kind !== "EncryptionConfiguration" || d.apiVersion !== "apiserver.config.k8s.io/v1") fail("not an EncryptionConfiguration of apiserver.config.k8s.io/v1");
  const entries = Array.isArray(d.resources) ? (d.resources as Array<{ resources?: unknown; providers?: unknown }>) : [];
  const forSecrets = entries.find((r) => Array.isArray(r?.resources) && r.resources.includes("secrets"));
  const providers = Array.isArray(forSecrets?.providers) ? (forSecrets.providers as Array<{ aesgcm?: { keys?: unknown } }>) : fail("no providers for secrets");
  const rawKeys = providers[0]?.aesgcm?.keys;
  if (!Array.isArray(rawKeys) || rawKeys.length === 0) fail("the first provider for secrets must be aesgcm with at least one key");
  const keys: EncryptionKey[] = [];
  for (const [i, raw] of (rawKeys as Array<{ name?: unknown; secret?: unknown }>).entries()) {
    const name = raw?.name;
    if (typeof name !== "string" || !KEY_NAME.test(name)) fail(`key ${i + 1}: the name must be 1-64 letters, digits, ".", "_" or "-"`);
    if (keys.some((k) => k.name === name)) fail(`key "${name}" is listed twice`);
    const text = raw?.secret;
    const secret = typeof text === "string" && /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, "base64") : undefined;
    if (!secret || !KEY_SIZES.includes(secret.length)) fail(`key "${name}": the secret must be 16, 24 or 32 bytes in base64`);
    keys.push({ name: name as string, secret: secret! });
  }
  return keys;
}

export function writeKeyFile(path: string, keys: readonly EncryptionKey[]): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const doc = {
    kind: "EncryptionConfiguration",
    apiVersion: "apiserver.config.k8s.io/v1",
    resources: [
      {
        resources: ["secrets"],
        providers: [{ aesgcm: { keys: keys.map((k) => ({ name: k.name, secret: Buffer.from(k.secret).toString("base64") })) } }, { identity: {} }],
      },
    ],
  };
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, JSON.stringify(doc, null, 2) + "\n");
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

export const keyFileExists = (path: string) => existsSync(path);
