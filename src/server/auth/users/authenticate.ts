// Authenticating user credentials: the signature (our user-credential key, ES256 only), issuer,
// audience and lifetime once per token, then on every request the record in the API server's
// cache, so a revoked or deleted record refuses the token at once. Tokens of any other issuer
// (service-account tokens, say) are passed over without any signature work.
import { decodeJwt, errors, jwtVerify } from "jose";
import type { Secret } from "../../../api/resources/core/secret";
import type { UserInfo } from "../authenticator";
import { credentialInfo, USER_CREDENTIAL_AUDIENCE, USER_CREDENTIAL_ISSUER, userOf } from "./credentials";
import type { SigningKey } from "./keys";

export interface UserCredentialView {
  /** The record Secret of credential `id`, from the cache. */
  getRecord(id: string): Secret | undefined;
}

interface Verified {
  exp: number;
  nbf: number;
  id: string;
  user: string;
  groups: string[];
}

const looksLikeJwt = (t: string) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(t) && t.startsWith("eyJ");

function issuerOf(token: string): string | undefined {
  try {
    return decodeJwt(token).iss;
  } catch {
    return undefined;
  }
}

export function createUserCredentialAuthenticator(
  key: Pick<SigningKey, "publicKey"> | Promise<Pick<SigningKey, "publicKey">>,
  view: UserCredentialView,
  opts: { now?: () => number; cacheSize?: number } = {},
): (token: string) => UserInfo | undefined | Promise<UserInfo | undefined> {
  const now = opts.now ?? Date.now;
  const cacheSize = opts.cacheSize ?? 1024;
  const verified = new Map<string, Verified>();

  const current = (v: Verified): UserInfo | undefined => {
    const at = now();
    if (at >= v.exp * 1000 || at < v.nbf * 1000) return undefined;
    const record = credentialInfo(view.getRecord(v.id));
    if (!record || record.revoked || record.user !== v.user) return undefined;
    return userOf(v);
  };

  const verify = async (token: string): Promise<UserInfo | undefined> => {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, (await key).publicKey, {
        algorithms: ["ES256"],
        issuer: USER_CREDENTIAL_ISSUER,
        audience: USER_CREDENTIAL_AUDIENCE,
        requiredClaims: ["exp", "iat", "nbf", "sub", "jti"],
        currentDate: new Date(now()),
      }));
    } catch (e) {
      if (e instanceof errors.JOSEError) return undefined;
      throw e;
    }
    const groups = payload.groups;
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === "string") || !/^[0-9a-f]{16}$/.test(payload.jti!)) return undefined;
    const v: Verified = { exp: payload.exp!, nbf: payload.nbf!, id: payload.jti!, user: payload.sub!, groups };
    if (verified.size >= cacheSize) verified.delete(verified.keys().next().value!);
    verified.set(token, v);
    return current(v);
  };

  return (token) => {
    const v = verified.get(token);
    if (v) {
      if (now() >= v.exp * 1000) verified.delete(token);
      return current(v);
    }
    return looksLikeJwt(token) && issuerOf(token) === USER_CREDENTIAL_ISSUER ? verify(token) : undefined;
  };
}
