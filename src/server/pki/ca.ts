// The cluster CA: created once, then reused forever (every kubeconfig and, later, every joined
// node trusts it, so regenerating it would orphan them all).

import type { X509Certificate } from "@peculiar/x509";
import { x509 } from "./x509";
import { join } from "node:path";
import { readIfExists, writeFileAtomic } from "./files";
import { SIGNING_ALGORITHM, YEAR_MS, generateKeyPair, privateKeyFromPem, privateKeyToPem, randomSerial } from "./keys";

export interface CertificateAuthority {
  cert: X509Certificate;
  certPem: string;
  key: CryptoKey;
  /** True when this call created it (first start). */
  created: boolean;
}

// k3s's file names, so people who know k3s find their way around <data-dir>/server/tls.
export const caPaths = (tlsDir: string) => ({
  cert: join(tlsDir, "server-ca.crt"),
  key: join(tlsDir, "server-ca.key"),
});

export async function ensureCa(tlsDir: string, now = new Date()): Promise<CertificateAuthority> {
  const paths = caPaths(tlsDir);
  const certPem = readIfExists(paths.cert);
  const keyPem = readIfExists(paths.key);
  if (certPem && keyPem) {
    return { cert: new x509.X509Certificate(certPem), certPem, key: await privateKeyFromPem(keyPem), created: false };
  }
  if (certPem || keyPem) {
    // Half a CA cannot be repaired; silently replacing it would break every issued credential.
    throw new Error(`incomplete cluster CA in ${tlsDir}: need both server-ca.crt and server-ca.key`);
  }

  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=bramble-server-ca@${Math.floor(now.getTime() / 1000)}`,
    notBefore: new Date(now.getTime() - 60_000), // tolerate small clock skew between nodes
    notAfter: new Date(now.getTime() + 10 * YEAR_MS),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pem = cert.toString("pem");
  // Key first: a crash between the two writes leaves "key without cert", which the check above
  // reports instead of silently minting a second CA over the old key.
  writeFileAtomic(paths.key, await privateKeyToPem(keys.privateKey), 0o600);
  writeFileAtomic(paths.cert, pem + "\n", 0o644);
  return { cert, certPem: pem + "\n", key: keys.privateKey, created: true };
}

/**
 * kubeadm's --discovery-token-ca-cert-hash: "sha256:" + hex SHA-256 of the CA certificate's
 * DER-encoded SubjectPublicKeyInfo. A joining node pins the CA with it.
 */
export async function caCertHash(cert: X509Certificate): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", cert.publicKey.rawData);
  return `sha256:${Buffer.from(digest).toString("hex")}`;
}
