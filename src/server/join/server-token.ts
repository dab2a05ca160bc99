// The server token, k3s's shared secret for joining (--token): any node that presents it may
// join, as with a bootstrap token, but it never expires. Generated on first start unless given,
// and kept in <data-dir>/server/token (owner-only) in k3s's full form "K10<ca hash>::server:<secret>",
// so the file's content is all an agent needs: `bramble agent --server URL --token <it>`.
// The file's content wins over nothing, --token wins over the file: starting the server with a
// new --token (or after deleting the file) replaces the secret; nodes that already joined keep
// their own credentials, only later joins need the new one.

import { chmodSync } from "node:fs";
import { timingSafeEqual } from "node:crypto";
import { ApiError } from "../../api/errors";
import { formatFullToken, parseJoinToken } from "../../api/join-token";
import { joinTokenPath, randomToken } from "../auth/tokens";
import { readIfExists, writeFileAtomic } from "../pki/files";

export interface ServerToken {
  /** The part that is checked: what follows "::server:" in the full form. */
  secret: string;
  /** K10<ca hash>::server:<secret>, as written to the file. */
  full: string;
  path: string;
  created: boolean;
}

/**
 * A --token (or the file's content) as the secret it holds. A full --token must carry this
 * cluster's CA hash; the file's may be stale (the CA was replaced): its secret is kept, and the
 * file rewritten with the current hash.
 */
function secretOf(text: string, where: string, caCertHash?: string): string {
  const t = parseJoinToken(text);
  if (!t || !/^[\x21-\x7e]+$/.test(t.credential)) throw new Error(`${where}: not a server token (K10<64 hex digits>::server:<secret>, or a secret of printable ASCII without spaces)`);
  if (caCertHash && t.caCertHash && t.caCertHash !== caCertHash) throw new Error(`${where}: the token is for a cluster whose CA hash is ${t.caCertHash}, but this server's CA is ${caCertHash}`);
  return t.credential;
}

export function ensureServerToken(dataDir: string, caCertHash: string, given?: string): ServerToken {
  const path = joinTokenPath(dataDir);
  const stored = readIfExists(path)?.trim();
  const secret = given !== undefined ? secretOf(given, "--token", caCertHash) : stored ? secretOf(stored, path) : randomToken();
  const full = formatFullToken(caCertHash, secret);
  if (stored !== full) writeFileAtomic(path, full + "\n", 0o600);
  else chmodSync(path, 0o600); // a copy restored from a backup may have come back readable
  return { secret, full, path, created: stored === undefined };
}

const digest = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest();

/** Constant-time: compares digests of equal length, so neither content nor length leaks. */
export function serverTokenMatches(token: ServerToken | undefined, presented: string): boolean {
  if (!token) return false;
  const a = digest(token.secret);
  const b = digest(presented);
  return timingSafeEqual(a, b);
}

export const serverTokenRefused = () => new ApiError(401, "Unauthorized", "the server token is not valid for this cluster");
