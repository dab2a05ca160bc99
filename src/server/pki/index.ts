// Cluster PKI: the CA (created once) and the API server's serving certificate (re-issued when
// the configured addresses change), as PEM files under <data-dir>/server/tls.

import { join } from "node:path";
import { caCertHash, ensureCa } from "./ca";
import { servingSans, type SanInputs } from "./sans";
import { ensureServingCert } from "./serving";

export { caCertHash, caPaths, ensureCa, type CertificateAuthority } from "./ca";
export { servingSans } from "./sans";
export { certSans, ensureServingCert, servingPaths, type SubjectAltNames } from "./serving";

export interface ClusterPki {
  caCertPem: string;
  servingCertPem: string;
  servingKeyPem: string;
  /** sha256:<hex> of the CA's SubjectPublicKeyInfo, for join commands. */
  caCertHash: string;
  caCreated: boolean;
  /** Set when the serving certificate was (re)issued on this start, with the reason. */
  servingIssuedBecause?: string;
}

export const tlsDir = (dataDir: string) => join(dataDir, "server", "tls");

export async function ensurePki(dataDir: string, sanInputs: SanInputs): Promise<ClusterPki> {
  const dir = tlsDir(dataDir);
  const ca = await ensureCa(dir);
  const serving = await ensureServingCert(dir, ca, servingSans(sanInputs));
  return {
    caCertPem: ca.certPem,
    servingCertPem: serving.certPem,
    servingKeyPem: serving.keyPem,
    caCertHash: await caCertHash(ca.cert),
    caCreated: ca.created,
    servingIssuedBecause: serving.issuedBecause,
  };
}
