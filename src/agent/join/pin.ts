// The CA pin a joining node checks, kubeadm's --discovery-token-ca-cert-hash:
// "sha256:" + hex SHA-256 of the CA certificate's DER SubjectPublicKeyInfo. Computed with
// node:crypto rather than @peculiar/x509, which the agent would otherwise not load at all.
import { createHash, X509Certificate } from "node:crypto";

export const CA_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function caCertHashOfPem(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}

export class CaPinMismatch extends Error {
  constructor(server: string, want: string, got: string) {
    super(`the CA of ${server} does not match --ca-cert-hash (expected ${want}, the server presented ${got}); refusing to join — check the hash printed by \`bramble token create --print-join-command\``);
  }
}

/** Throws CaPinMismatch unless the PEM's public key hashes to `pin` (case-insensitive hex). */
export function checkCaPin(server: string, caPem: string, pin: string): void {
  const got = caCertHashOfPem(caPem);
  if (got !== pin.toLowerCase()) throw new CaPinMismatch(server, pin.toLowerCase(), got);
}
