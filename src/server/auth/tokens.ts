// Long-lived secrets stored as files under <data-dir>/server: the admin bearer token that the
// admin kubeconfig carries, and where the server token (--token, see ../join/server-token.ts)
// lives. Both are created on first start and reused, so kubeconfigs and join commands handed
// out earlier keep working.

import { join } from "node:path";
import { readIfExists, writeFileAtomic } from "../pki/files";

export const adminTokenPath = (dataDir: string) => join(dataDir, "server", "admin-token");
export const joinTokenPath = (dataDir: string) => join(dataDir, "server", "token");

/** 32 random bytes, hex: 256 bits, and safe in headers, YAML and shell without quoting. */
export function randomToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
}

function ensureTokenFile(path: string, given?: string): { token: string; created: boolean } {
  const existing = readIfExists(path)?.trim();
  if (given !== undefined) {
    if (existing !== given) writeFileAtomic(path, given + "\n", 0o600);
    return { token: given, created: existing === undefined };
  }
  if (existing) return { token: existing, created: false };
  const token = randomToken();
  writeFileAtomic(path, token + "\n", 0o600);
  return { token, created: true };
}

export function ensureAdminToken(dataDir: string): { token: string; created: boolean } {
  return ensureTokenFile(adminTokenPath(dataDir));
}

