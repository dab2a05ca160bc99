// The agent's HTTPS serving certificate: self-signed, kept in <data-dir>/agent/tls, and
// re-issued when it no longer names the node's addresses or nears expiry. The API server does
// not need a CA to trust it: the agent publishes it on its Node and the server pins exactly it
// (SERVING_CERT_ANNOTATION), which needs no signing round-trip at join.
import { X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { issueSelfSignedCert } from "./selfsigned";

export interface ServingCert {
  certPem: string;
  keyPem: string;
  /** Why it was issued on this start, or undefined when the stored one was reused. */
  issuedBecause?: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const VALID_FOR_MS = 365 * DAY_MS;
const RENEW_BEFORE_MS = 30 * DAY_MS;

export const servingCertPaths = (dataDir: string) => {
  const dir = join(dataDir, "agent", "tls");
  return { dir, cert: join(dir, "kubelet.crt"), key: join(dir, "kubelet.key") };
};

export async function ensureServingCert(dataDir: string, names: { nodeName: string; ips: string[] }, now = new Date()): Promise<ServingCert> {
  const paths = servingCertPaths(dataDir);
  const stale = existsSync(paths.cert) && existsSync(paths.key) ? whyStale(readFileSync(paths.cert, "utf8"), names, now) : "none stored";
  if (!stale) return { certPem: readFileSync(paths.cert, "utf8"), keyPem: readFileSync(paths.key, "utf8") };
  const issued = await issueSelfSigned(names, now);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  writeAtomic(paths.key, issued.keyPem, 0o600);
  writeAtomic(paths.cert, issued.certPem, 0o644);
  return { ...issued, issuedBecause: stale };
}

/** Undefined when the stored certificate still fits; else the reason to re-issue. */
export function whyStale(certPem: string, names: { nodeName: string; ips: string[] }, now: Date): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return "the stored certificate does not parse";
  }
  if (new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_MS) return "the stored certificate expires soon";
  const missing = names.ips.find((ip) => !cert.checkIP(ip));
  if (missing) return `the stored certificate does not name ${missing}`;
  if (!cert.checkHost(names.nodeName)) return `the stored certificate does not name ${names.nodeName}`;
  return undefined;
}

async function issueSelfSigned(names: { nodeName: string; ips: string[] }, now: Date): Promise<{ certPem: string; keyPem: string }> {
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, as Go and RFC 5280 want
  return issueSelfSignedCert({
    commonName: `${names.nodeName}@${Math.floor(now.getTime() / 1000)}`,
    dnsNames: [names.nodeName, "localhost"],
    ips: [...new Set([...names.ips, "127.0.0.1"])],
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + VALID_FOR_MS),
    serial,
  });
}

function writeAtomic(path: string, text: string, mode: number) {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}
