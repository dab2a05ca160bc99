// The stored form of an encrypted value, as kube-apiserver's aesgcm provider writes it:
//   k8s:enc:aesgcm:v1:<key name>:<nonce (12 bytes) | ciphertext | GCM tag (16 bytes)>
// The binary part is base64 here, because the store keeps values as text. The store key
// ("/registry/core/secrets/<ns>/<name>") is the additional authenticated data, as upstream does:
// a value copied onto another key's row does not decrypt. A value without the prefix is plain
// text (upstream's identity provider), which is how a store written before encryption reads.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

export const ENVELOPE_PREFIX = "k8s:enc:aesgcm:v1:";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface EncryptionKey {
  /** Letters, digits, ".", "_" and "-": it sits between colons in the envelope. */
  name: string;
  /** 16, 24 or 32 bytes: AES-128, -192 or -256 (upstream's aesgcm accepts the same). */
  secret: Uint8Array;
}

export class DecryptionError extends Error {}

const algorithm = (key: EncryptionKey) => `aes-${key.secret.length * 8}-gcm` as "aes-256-gcm";

/** A fresh random nonce per call: never reuse one with the same key. */
export function seal(key: EncryptionKey, storeKey: string, plaintext: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(algorithm(key), key.secret, nonce);
  cipher.setAAD(Buffer.from(storeKey, "utf8"));
  const body = Buffer.concat([nonce, cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `${ENVELOPE_PREFIX}${key.name}:${body.toString("base64")}`;
}

/** The name of the key a stored value is sealed with, or undefined for a plain value. */
export function sealedWith(value: string): string | undefined {
  if (!value.startsWith(ENVELOPE_PREFIX)) return undefined;
  const end = value.indexOf(":", ENVELOPE_PREFIX.length);
  return end < 0 ? "" : value.slice(ENVELOPE_PREFIX.length, end);
}

/** Decrypts a sealed value; throws DecryptionError when the key is unknown or the value does not authenticate. */
export function unseal(keys: ReadonlyMap<string, EncryptionKey>, storeKey: string, value: string): string {
  const name = sealedWith(value);
  if (name === undefined) return value;
  const key = keys.get(name);
  if (!key) throw new DecryptionError(`it is sealed with key "${name}", which is not in the key file`);
  const body = Buffer.from(value.slice(ENVELOPE_PREFIX.length + name.length + 1), "base64");
  if (body.length < NONCE_BYTES + TAG_BYTES) throw new DecryptionError(`its sealed value is truncated`);
  try {
    const decipher = createDecipheriv(algorithm(key), key.secret, body.subarray(0, NONCE_BYTES));
    decipher.setAAD(Buffer.from(storeKey, "utf8"));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([decipher.update(body.subarray(NONCE_BYTES, body.length - TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    throw new DecryptionError(`key "${name}" does not decrypt it (a different key under the same name, or a damaged value)`);
  }
}
