// ECDSA P-256 keys through WebCrypto, stored as PKCS#8 PEM ("PRIVATE KEY"), which Bun.serve's
// TLS, Go's crypto/tls (kubectl) and openssl all read.

import { x509 } from "./x509";

export const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
export const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;

export function generateKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
}

export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

export async function privateKeyFromPem(pem: string): Promise<CryptoKey> {
  const [der] = x509.PemConverter.decode(pem);
  if (!der) throw new Error("no PEM block found in private key");
  return crypto.subtle.importKey("pkcs8", der, KEY_ALGORITHM, true, ["sign"]);
}

/**
 * A random positive serial number (hex). RFC 5280 wants serials positive and unique; Go rejects
 * negative ones, and a random top bit would make the DER integer negative.
 */
export function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return Buffer.from(bytes).toString("hex");
}

export const YEAR_MS = 365 * 24 * 60 * 60 * 1000;
