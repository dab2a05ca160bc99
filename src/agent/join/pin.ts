// The CA pin a joining node checks, kubeadm's --discovery-token-ca-cert-hash:
// "sha256:" + hex SHA-256 of the CA certificate's DER SubjectPublicKeyInfo. Computed with
// node:crypto rather than @peculiar/x509, which the agent would otherwise not load at all.
//
// The server's /cacerts answer may hold several certificates (a bundle). The pin names one of
// them; that one alone is trusted and kept. Trusting the rest would let whoever controls the
// answer slip a CA of their own in beside the real one and then present certificates it signed.
import { createHash, X509Certificate } from "node:crypto";

export const CA_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

const spkiHash = (cert: X509Certificate) => `sha256:${createHash("sha256").update(cert.publicKey.export({ type: "spki", format: "der" })).digest("hex")}`;

/** The pin of a PEM's first certificate. */
export function caCertHashOfPem(pem: string): string {
  return spkiHash(new X509Certificate(pem));
}

export class CaPinMismatch extends Error {
  constructor(server: string, want: string, got: string) {
    super(`the CA of ${server} does not match --ca-cert-hash (expected ${want}, the server presented ${got}); refusing to join — check the hash printed by \`bramble token create --print-join-command\``);
  }
}

/**
 * The one certificate of the bundle `caPem` whose public key hashes to `pin` (case-insensitive
 * hex), as PEM with a trailing newline. Throws CaPinMismatch when none does, or when the one that
 * does is not a CA certificate (basicConstraints CA:TRUE): a leaf with the pinned key cannot sign.
 */
export function pinnedCa(server: string, caPem: string, pin: string): string {
  const want = pin.toLowerCase();
  const blocks = caPem.match(PEM_CERTIFICATE) ?? [];
  const presented: string[] = [];
  for (const block of blocks) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch {
      continue; // a block that does not parse cannot be the pinned CA
    }
    const hash = spkiHash(cert);
    if (hash !== want) {
      presented.push(hash);
      continue;
    }
    if (!cert.ca) throw new CaPinMismatch(server, want, `${hash} on a certificate that is not a CA`);
    return block + "\n";
  }
  throw new CaPinMismatch(server, want, presented.length ? presented.join(", ") : "no certificate");
}

/** Throws CaPinMismatch unless the bundle holds the pinned CA certificate. */
export function checkCaPin(server: string, caPem: string, pin: string): void {
  pinnedCa(server, caPem, pin);
}
