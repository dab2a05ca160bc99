// User credentials for people: bearer tokens the server signs for a user name and groups, handed
// out in a kubeconfig by `bramble kubeconfig create`. They are JWTs like service-account tokens,
// but signed with their own key and carrying their own issuer and audience, so neither kind can
// ever pass for the other. Each one has a record, a Secret `user-credential-<id>` in kube-system
// (only admins can touch it): the token is accepted only while its record exists, names the same
// user and is not marked revoked, so revoking (or deleting the record) takes effect on the next
// request. The record holds no secret: the token itself is never stored.
import { SignJWT } from "jose";
import type { Secret } from "../../../api/resources/core/secret";
import type { UserInfo } from "../authenticator";
import type { SigningKey } from "./keys";

export const USER_CREDENTIAL_ISSUER = "bramble:user-credentials";
export const USER_CREDENTIAL_AUDIENCE = "bramble:api";
export const USER_CREDENTIAL_TYPE = "bramble.io/user-credential";
export const USER_CREDENTIAL_NAMESPACE = "kube-system";
export const userCredentialSecretName = (id: string) => `user-credential-${id}`;

/** Upstream reserves the system: prefix for names the cluster itself gives out. */
export const RESERVED_PREFIX = "system:";
/** Longest user or group name accepted (well above anything a person types). */
export const MAX_NAME_LENGTH = 253;
export const MAX_GROUPS = 32;
/** Lifetime bounds: at least a second, at most ten years. */
export const MAX_TTL_SECONDS = 10 * 365 * 24 * 3600;

export interface CredentialRequest {
  user: string;
  groups: string[];
  ttlSeconds: number;
  /** Allow system: user and group names. */
  force?: boolean;
}

export interface CredentialInfo {
  id: string;
  user: string;
  groups: string[];
  /** RFC 3339. */
  issued: string;
  expires: string;
  /** RFC 3339 time of revocation, if revoked. */
  revoked?: string;
}

export interface IssuedCredential extends CredentialInfo {
  token: string;
}

/** What is wrong with a user or group name, or undefined when it is acceptable. */
export function nameProblem(what: "user" | "group", name: unknown, force: boolean): string | undefined {
  if (typeof name !== "string" || name.length === 0) return `${what} name must not be empty`;
  if (name.length > MAX_NAME_LENGTH) return `${what} name must be at most ${MAX_NAME_LENGTH} characters`;
  // Printable, no spaces at either end, nothing that breaks a header, a log line or a YAML key.
  if (!/^[^\s\p{Cc}](?:[^\p{Cc}]*[^\s\p{Cc}])?$/u.test(name)) return `${what} name "${name}" must be printable text without leading or trailing spaces`;
  if (what === "group" && name === "system:authenticated") return undefined; // every user has it anyway
  if (!force && name.startsWith(RESERVED_PREFIX)) return `${what} name "${name}" is reserved: names starting with "${RESERVED_PREFIX}" belong to the cluster (--force to use one anyway)`;
  return undefined;
}

/** Every problem with a request, one message each (empty when it is valid). */
export function requestProblems(r: Partial<CredentialRequest>): string[] {
  const problems: string[] = [];
  const force = r.force === true;
  const userProblem = nameProblem("user", r.user, force);
  if (userProblem) problems.push(userProblem);
  if (!Array.isArray(r.groups)) problems.push("groups must be a list of names");
  else {
    if (r.groups.length > MAX_GROUPS) problems.push(`at most ${MAX_GROUPS} groups`);
    for (const g of r.groups) {
      const p = nameProblem("group", g, force);
      if (p) problems.push(p);
    }
  }
  if (typeof r.ttlSeconds !== "number" || !Number.isFinite(r.ttlSeconds) || r.ttlSeconds < 1 || r.ttlSeconds > MAX_TTL_SECONDS) {
    problems.push(`ttl must be between 1s and ${MAX_TTL_SECONDS / 3600}h`);
  }
  return problems;
}

/** The groups a credential's user gets: the requested ones, deduplicated, plus system:authenticated. */
export function credentialGroups(groups: readonly string[]): string[] {
  return [...new Set([...groups.filter((g) => g !== "system:authenticated"), "system:authenticated"])];
}

/** 16 hex characters: a name part for the record and the token's jti. */
export const newCredentialId = () => Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString("hex");

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, "base64").toString("utf8"));

export function credentialSecret(info: CredentialInfo): Secret {
  const data: Record<string, string> = {
    user: b64(info.user),
    groups: b64(JSON.stringify(info.groups)),
    issued: b64(info.issued),
    expiration: b64(info.expires),
  };
  if (info.revoked) data.revoked = b64(info.revoked);
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: userCredentialSecretName(info.id), namespace: USER_CREDENTIAL_NAMESPACE },
    type: USER_CREDENTIAL_TYPE,
    data,
  } as Secret;
}

/** The credential a record describes, or undefined when it is not a well-formed record. */
export function credentialInfo(s: Secret | undefined): CredentialInfo | undefined {
  if (!s || s.type !== USER_CREDENTIAL_TYPE || s.metadata.namespace !== USER_CREDENTIAL_NAMESPACE) return undefined;
  const name = s.metadata.name ?? "";
  const id = name.startsWith("user-credential-") ? name.slice("user-credential-".length) : "";
  const d = s.data ?? {};
  const user = unb64(d.user);
  const issued = unb64(d.issued);
  const expires = unb64(d.expiration);
  let groups: unknown;
  try {
    groups = JSON.parse(unb64(d.groups) ?? "null");
  } catch {
    return undefined;
  }
  if (!id || !user || !issued || !expires || !Array.isArray(groups) || !groups.every((g) => typeof g === "string")) return undefined;
  const revoked = unb64(d.revoked);
  return { id, user, groups: groups as string[], issued, expires, ...(revoked ? { revoked } : {}) };
}

/** Signs a credential's token (ES256, whole seconds). */
export async function signUserToken(key: SigningKey, info: CredentialInfo): Promise<string> {
  return new SignJWT({ groups: info.groups })
    .setProtectedHeader({ alg: "ES256", kid: key.keyId })
    .setIssuer(USER_CREDENTIAL_ISSUER)
    .setAudience(USER_CREDENTIAL_AUDIENCE)
    .setSubject(info.user)
    .setIssuedAt(Date.parse(info.issued) / 1000)
    .setNotBefore(Date.parse(info.issued) / 1000)
    .setExpirationTime(Date.parse(info.expires) / 1000)
    .setJti(info.id)
    .sign(key.privateKey);
}

/** A new credential's record and token for a valid request. */
export async function newCredential(key: SigningKey, r: CredentialRequest, now: number): Promise<IssuedCredential> {
  const issuedMs = Math.floor(now / 1000) * 1000;
  const info: CredentialInfo = {
    id: newCredentialId(),
    user: r.user,
    groups: credentialGroups(r.groups),
    issued: isoSeconds(issuedMs),
    expires: isoSeconds(issuedMs + Math.ceil(r.ttlSeconds) * 1000),
  };
  return { ...info, token: await signUserToken(key, info) };
}

export const userOf = (info: Pick<CredentialInfo, "user" | "groups">): UserInfo => ({ user: info.user, groups: credentialGroups(info.groups) });
export const nowIso = isoSeconds;
