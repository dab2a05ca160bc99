// The certificates the ingress serves over HTTPS: for every host in spec.tls[].hosts of the
// Ingresses this node serves, the kubernetes.io/tls Secret named beside it. A Secret that is
// missing, of another type, or whose certificate or key does not parse or do not belong together
// is skipped with a problem to report (a Warning event on the Ingress). The first Ingress by age
// to claim a host keeps it. SNI picks a certificate as the route table picks a host: the exact
// name, then a `*.` wildcard for one label; without a match (or without SNI) the first one.
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { Secret } from "../../api/resources/core/secret";
import type { Ingress } from "../../api/resources/networking/ingress";
import { candidateHosts } from "./routes";

import { TLS_SECRET_TYPE } from "../../api/resources/networking/names";

export interface Certificate {
  /** "namespace/name" of its Secret, and the resourceVersion it was read at. */
  secret: string;
  cert: string;
  key: string;
}

export interface TlsEntry extends Certificate {
  /** A host name or a `*.` wildcard, lower-cased. */
  serverName: string;
}

export interface TlsProblem {
  ingress: Ingress;
  secret: string;
  message: string;
}

const decode = (b64: string | undefined) => (b64 ? Buffer.from(b64, "base64").toString("utf8") : "");

/** The certificate of a Secret, or why it cannot be served. */
export function certificateOf(secret: Secret): Certificate | string {
  if ((secret.type ?? "Opaque") !== TLS_SECRET_TYPE) return `secret is of type ${secret.type ?? "Opaque"}, not ${TLS_SECRET_TYPE}`;
  const cert = decode(secret.data?.["tls.crt"]);
  const key = decode(secret.data?.["tls.key"]);
  if (!cert || !key) return "secret has no tls.crt or no tls.key";
  try {
    const x509 = new X509Certificate(cert);
    const priv = createPrivateKey(key);
    if (!x509.checkPrivateKey(priv)) return "the private key does not match the certificate";
  } catch (e) {
    return `invalid certificate or key: ${(e as Error).message}`;
  }
  return { secret: `${secret.metadata.namespace}/${secret.metadata.name}`, cert, key };
}

const byAge = (a: Ingress, b: Ingress) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "");

/** The entries to serve, in the Ingresses' age order, and what could not be served. */
export function tlsEntries(ingresses: readonly Ingress[], getSecret: (namespace: string, name: string) => Secret | undefined): { entries: TlsEntry[]; problems: TlsProblem[] } {
  const entries: TlsEntry[] = [];
  const problems: TlsProblem[] = [];
  const claimed = new Set<string>();
  const parsed = new Map<string, Certificate | string>();
  for (const ing of [...ingresses].sort(byAge)) {
    const ns = ing.metadata.namespace ?? "default";
    for (const t of ing.spec?.tls ?? []) {
      if (!t.secretName) continue;
      const key = `${ns}/${t.secretName}`;
      let c = parsed.get(key);
      if (c === undefined) {
        const secret = getSecret(ns, t.secretName);
        c = secret ? certificateOf(secret) : "secret not found";
        parsed.set(key, c);
      }
      if (typeof c === "string") {
        problems.push({ ingress: ing, secret: key, message: c });
        continue;
      }
      for (const h of t.hosts ?? []) {
        const serverName = h.toLowerCase();
        if (claimed.has(serverName)) continue;
        claimed.add(serverName);
        entries.push({ ...c, serverName });
      }
    }
  }
  return { entries, problems };
}

/** The entry SNI picks for a server name (undefined without any entry). */
export function pickCertificate(entries: readonly TlsEntry[], serverName: string | undefined): TlsEntry | undefined {
  if (serverName) {
    const name = serverName.toLowerCase();
    for (const h of candidateHosts(name).filter((c) => c !== "")) {
      const e = entries.find((x) => x.serverName === h);
      if (e) return e;
    }
  }
  return entries[0];
}
