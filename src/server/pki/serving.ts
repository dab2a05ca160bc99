// The API server's serving certificate, signed by the cluster CA. Reused across restarts, but
// re-issued when it no longer covers the addresses the server is configured with (e.g. the
// advertise address changed) or is close to expiry, so kubectl never sees a name mismatch.

import type { X509Certificate } from "@peculiar/x509";
import { x509 } from "./x509";
import { join } from "node:path";
import type { CertificateAuthority } from "./ca";
import { readIfExists, writeFileAtomic } from "./files";
import { SIGNING_ALGORITHM, YEAR_MS, generateKeyPair, privateKeyToPem, randomSerial } from "./keys";

export interface SubjectAltNames {
  dns: string[];
  ips: string[];
}

export interface ServingCertificate {
  certPem: string;
  keyPem: string;
  /** Why it was (re)issued, or undefined when the existing one was reused. */
  issuedBecause?: string;
}

export const servingPaths = (tlsDir: string) => ({
  cert: join(tlsDir, "serving-kube-apiserver.crt"),
  key: join(tlsDir, "serving-kube-apiserver.key"),
});

/** Re-issue this long before expiry (k3s uses 90 days too). */
const RENEW_BEFORE_MS = 90 * 24 * 60 * 60 * 1000;

export function certSans(cert: X509Certificate): SubjectAltNames {
  const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const items = ext?.names.items ?? [];
  return {
    dns: items.filter((n) => n.type === "dns").map((n) => n.value),
    ips: items.filter((n) => n.type === "ip").map((n) => n.value),
  };
}

/** Why the existing certificate cannot be reused, or undefined when it can. */
export async function staleReason(
  certPem: string,
  ca: CertificateAuthority,
  want: SubjectAltNames,
  now: Date,
): Promise<string | undefined> {
  let cert: X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch {
    return "existing certificate is unreadable";
  }
  const signedByCa = await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }).catch(() => false);
  if (!signedByCa) return "existing certificate is not signed by the cluster CA";
  if (cert.notAfter.getTime() - now.getTime() < RENEW_BEFORE_MS) return "existing certificate expires soon";
  const have = certSans(cert);
  const missing = [
    ...want.dns.filter((d) => !have.dns.includes(d)),
    ...want.ips.filter((ip) => !have.ips.includes(ip)),
  ];
  if (missing.length) return `existing certificate does not cover ${missing.join(", ")}`;
  return undefined;
}

export async function ensureServingCert(
  tlsDir: string,
  ca: CertificateAuthority,
  sans: SubjectAltNames,
  now = new Date(),
): Promise<ServingCertificate> {
  const paths = servingPaths(tlsDir);
  const certPem = readIfExists(paths.cert);
  const keyPem = readIfExists(paths.key);
  let reason = "no serving certificate yet";
  if (certPem && keyPem) {
    const stale = await staleReason(certPem, ca, sans, now);
    if (!stale) return { certPem, keyPem };
    reason = stale;
  }

  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: "CN=kube-apiserver",
    issuer: ca.cert.subjectName,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + YEAR_MS),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...sans.dns.map((value) => ({ type: "dns" as const, value })),
        ...sans.ips.map((value) => ({ type: "ip" as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
    ],
  });
  const out = { certPem: cert.toString("pem") + "\n", keyPem: await privateKeyToPem(keys.privateKey) };
  writeFileAtomic(paths.key, out.keyPem, 0o600);
  writeFileAtomic(paths.cert, out.certPem, 0o644);
  return { ...out, issuedBecause: reason };
}
