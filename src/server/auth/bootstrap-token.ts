// kubeadm-style bootstrap tokens: "<id>.<secret>", [a-z0-9]{6}.[a-z0-9]{16}. The id is public (it
// names the Secret and shows in `bramble token list`); the secret part is stored only as a
// SHA-256, so reading kube-system's Secrets does not hand out join tokens. Shared by the CLI
// (create, list, delete through the API) and the server's join endpoint (check).

import { timingSafeEqual } from "node:crypto";
import type { Secret } from "../../api/resources/core/secret";

export const BOOTSTRAP_TOKEN_SECRET_TYPE = "bootstrap.kubernetes.io/token";
export const BOOTSTRAP_TOKEN_NAMESPACE = "kube-system";
export const BOOTSTRAP_TOKEN_PATTERN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
/** Where the secret part's digest lives; upstream keeps "token-secret" in clear, we do not. */
const HASH_KEY = "token-secret-sha256";

export interface BootstrapToken {
  id: string;
  secret: string;
}

export const formatToken = (t: BootstrapToken) => `${t.id}.${t.secret}`;
export const tokenSecretName = (id: string) => `bootstrap-token-${id}`;

export function parseToken(text: string): BootstrapToken | undefined {
  const m = BOOTSTRAP_TOKEN_PATTERN.exec(text);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** Uniform over the alphabet: bytes ≥ 252 are redrawn so no character is more likely (modulo bias). */
function randomString(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const b of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (b < 252 && out.length < length) out += ALPHABET[b % 36];
    }
  }
  return out;
}

export function generateToken(): BootstrapToken {
  return { id: randomString(6), secret: randomString(16) };
}

export const hashSecret = (secret: string) => new Bun.CryptoHasher("sha256").update(secret).digest("hex");

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, "base64").toString("utf8"));

export interface TokenOptions {
  /** Seconds until it expires; 0 means never (as kubeadm's --ttl 0). */
  ttlSeconds: number;
  description?: string;
  now?: Date;
}

/** The Secret that stands for a token in kube-system, laid out like kubeadm's (minus the clear secret). */
export function tokenSecret(t: BootstrapToken, opts: TokenOptions): Secret {
  const now = opts.now ?? new Date();
  const data: Record<string, string> = {
    "token-id": b64(t.id),
    [HASH_KEY]: b64(hashSecret(t.secret)),
    "usage-bootstrap-authentication": b64("true"),
    "usage-bootstrap-signing": b64("true"),
    "auth-extra-groups": b64("system:bootstrappers:bramble:default-node-token"),
  };
  if (opts.ttlSeconds > 0) data.expiration = b64(new Date(now.getTime() + opts.ttlSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"));
  if (opts.description) data.description = b64(opts.description);
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: tokenSecretName(t.id), namespace: BOOTSTRAP_TOKEN_NAMESPACE },
    type: BOOTSTRAP_TOKEN_SECRET_TYPE,
    data,
  };
}

/** What `token list` shows about a token Secret. */
export interface TokenInfo {
  id: string;
  expires?: Date;
  description: string;
  usages: string[];
}

export function tokenInfo(s: Secret): TokenInfo | undefined {
  if (s.type !== BOOTSTRAP_TOKEN_SECRET_TYPE) return undefined;
  const data = s.data ?? {};
  const id = unb64(data["token-id"]);
  if (!id) return undefined;
  const exp = unb64(data.expiration);
  const usages = Object.keys(data)
    .filter((k) => k.startsWith("usage-bootstrap-") && unb64(data[k]) === "true")
    .map((k) => k.slice("usage-bootstrap-".length));
  return { id, expires: exp ? new Date(exp) : undefined, description: unb64(data.description) ?? "", usages };
}

export type TokenCheck = { ok: true } | { ok: false; why: string };

/**
 * Whether `t` is the token this Secret stands for and may still be used to join. The reason is
 * for the server log; clients get one message for every failure, so they cannot probe ids.
 */
export function checkToken(s: Secret | undefined, t: BootstrapToken, now = new Date()): TokenCheck {
  if (!s) return { ok: false, why: "no such token" };
  const info = tokenInfo(s);
  if (!info || info.id !== t.id) return { ok: false, why: "malformed token Secret" };
  const stored = Buffer.from(unb64(s.data?.[HASH_KEY]) ?? "", "utf8");
  const given = Buffer.from(hashSecret(t.secret), "utf8");
  if (stored.length !== given.length || !timingSafeEqual(stored, given)) return { ok: false, why: "wrong secret" };
  if (info.expires && !(info.expires.getTime() > now.getTime())) return { ok: false, why: "expired" };
  if (!info.usages.includes("authentication")) return { ok: false, why: "not usable for authentication" };
  return { ok: true };
}
