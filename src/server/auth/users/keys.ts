// The key that signs user credentials: ES256 (P-256), PKCS#8 PEM at
// <data-dir>/server/tls/user-credentials.key, owner-only, made on first start and reused. Its own
// key, not the service-account one: pods never see either, and a token signed by one is never
// accepted as the other.
import { join } from "node:path";
import { readIfExists, writeFileAtomic } from "../../pki/files";
import { tlsDir } from "../../pki/index";
import { generateKeyPair, KEY_ALGORITHM, privateKeyFromPem, privateKeyToPem } from "../../pki/keys";

export interface SigningKey {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The JWS "kid": base64url SHA-256 of the public key's DER. */
  keyId: string;
}

export const userCredentialKeyPath = (dataDir: string) => join(tlsDir(dataDir), "user-credentials.key");

async function fromPrivate(privateKey: CryptoKey): Promise<SigningKey> {
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = await crypto.subtle.importKey("jwk", { kty, crv, x, y }, KEY_ALGORITHM, true, ["verify"]);
  const spki = await crypto.subtle.exportKey("spki", publicKey);
  return { privateKey, publicKey, keyId: Buffer.from(await crypto.subtle.digest("SHA-256", spki)).toString("base64url") };
}

/** A key only in memory (tests). */
export async function generateUserCredentialKey(): Promise<SigningKey> {
  return fromPrivate((await generateKeyPair()).privateKey);
}

export async function ensureUserCredentialKey(dataDir: string): Promise<SigningKey & { created: boolean }> {
  const path = userCredentialKeyPath(dataDir);
  const pem = readIfExists(path);
  if (pem) return { ...(await fromPrivate(await privateKeyFromPem(pem))), created: false };
  const { privateKey } = await generateKeyPair();
  writeFileAtomic(path, await privateKeyToPem(privateKey), 0o600);
  return { ...(await fromPrivate(privateKey)), created: true };
}
