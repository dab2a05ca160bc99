// The key that signs service-account tokens: ES256 (P-256), PKCS#8 PEM at
// <data-dir>/server/tls/service-account.key, made on first start and reused, so tokens handed
// out before a restart stay valid. Its own key, not the CA's (upstream's
// --service-account-signing-key-file): rotating one never forces rotating the other.
import { join } from "node:path";
import { readIfExists, writeFileAtomic } from "../../pki/files";
import { tlsDir } from "../../pki/index";
import { generateKeyPair, KEY_ALGORITHM, privateKeyFromPem, privateKeyToPem } from "../../pki/keys";

export interface ServiceAccountKey {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The JWS "kid": base64url SHA-256 of the public key's DER, as upstream computes it. */
  keyId: string;
}

export const serviceAccountKeyPath = (dataDir: string) => join(tlsDir(dataDir), "service-account.key");

async function fromPrivate(privateKey: CryptoKey): Promise<ServiceAccountKey> {
  // WebCrypto cannot derive a public key directly; the private JWK carries x and y.
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = await crypto.subtle.importKey("jwk", { kty, crv, x, y }, KEY_ALGORITHM, true, ["verify"]);
  const spki = await crypto.subtle.exportKey("spki", publicKey);
  const keyId = Buffer.from(await crypto.subtle.digest("SHA-256", spki)).toString("base64url");
  return { privateKey, publicKey, keyId };
}

/** A key only in memory (tests). */
export async function generateServiceAccountKey(): Promise<ServiceAccountKey> {
  return fromPrivate((await generateKeyPair()).privateKey);
}

/** The stored key, or a new one written (owner-only) when there is none. */
export async function ensureServiceAccountKey(dataDir: string): Promise<ServiceAccountKey & { created: boolean }> {
  const path = serviceAccountKeyPath(dataDir);
  const pem = readIfExists(path);
  if (pem) return { ...(await fromPrivate(await privateKeyFromPem(pem))), created: false };
  const { privateKey } = await generateKeyPair();
  writeFileAtomic(path, await privateKeyToPem(privateKey), 0o600);
  return { ...(await fromPrivate(privateKey)), created: true };
}
