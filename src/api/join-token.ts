// The tokens a node joins with, as k3s spells them; the server (which keeps and checks the
// server token) and the agent (which sends it) both import this, neither imports the other.
//   - a bootstrap token "<id>.<secret>" (from `bramble token create`), used with --ca-cert-hash;
//   - the server token in k3s's secure ("full") form, "K10<ca hash>::server:<secret>", which
//     carries the CA pin itself, so that one string is enough to join safely;
//   - the server token's bare secret (k3s's short form), used with --ca-cert-hash.
// k3s's hash is the SHA-256 of the CA certificate's PEM as stored on disk; bramble's is the
// kubeadm pin, the SHA-256 of the CA's DER SubjectPublicKeyInfo (the 64 hex digits of
// --ca-cert-hash), so one pin means the same thing in both places.

export const FULL_TOKEN_PREFIX = "K10";
const FULL_TOKEN = /^K10([0-9a-fA-F]{64})::(.+)$/s;
/** k3s's user name in the full token's credentials. */
const SERVER_USER = "server:";

export interface JoinToken {
  /** What the join request carries: a bootstrap token, or the server token's secret. */
  credential: string;
  /** "sha256:<hex>", when the token carries the CA pin. */
  caCertHash?: string;
}

/** undefined when the text starts like a full token but is not one. */
export function parseJoinToken(text: string): JoinToken | undefined {
  if (!text.startsWith(FULL_TOKEN_PREFIX)) return text ? { credential: text } : undefined;
  const m = FULL_TOKEN.exec(text);
  if (!m) return undefined;
  const credential = m[2]!.startsWith(SERVER_USER) ? m[2]!.slice(SERVER_USER.length) : m[2]!;
  return credential ? { credential, caCertHash: `sha256:${m[1]!.toLowerCase()}` } : undefined;
}

/** "K10<hex>::server:<secret>" for a "sha256:<hex>" pin. */
export function formatFullToken(caCertHash: string, secret: string): string {
  return `${FULL_TOKEN_PREFIX}${caCertHash.replace(/^sha256:/, "")}::${SERVER_USER}${secret}`;
}
