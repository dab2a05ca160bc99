// Authenticating service-account tokens: the signature (our key, ES256 only), issuer, audience
// and lifetime, then what the token is bound to, read from the API server's cache on every
// request so deleting the account, the pod or the secret revokes the token at once (upstream's
// pkg/serviceaccount validator). Verified signatures are remembered per token, so only the first
// request with a token pays for the (asynchronous) signature check.
import { errors, jwtVerify, type JWTPayload } from "jose";
import type { KubeObject } from "../../../api/meta";
import type { UserInfo } from "../authenticator";
import { API_AUDIENCES, SERVICE_ACCOUNT_ISSUER, serviceAccountUser, serviceAccountUsername, type KubernetesClaim, type ObjectRef } from "./claims";
import type { ServiceAccountKey } from "./keys";

/** Synchronous reads of the API server's cache. */
export interface ServiceAccountTokenView {
  getServiceAccount(namespace: string, name: string): KubeObject | undefined;
  getPod(namespace: string, name: string): KubeObject | undefined;
  getSecret(namespace: string, name: string): KubeObject | undefined;
}

export interface ServiceAccountAuthOptions {
  /** Tokens must name one of these; default the API server's own (the issuer). */
  audiences?: readonly string[];
  now?: () => number;
  /** How many verified tokens to remember. */
  cacheSize?: number;
}

export type TokenLookup = (token: string) => UserInfo | undefined | Promise<UserInfo | undefined>;

interface Verified {
  exp: number;
  nbf: number;
  claim: KubernetesClaim;
}

const isRef = (r: unknown): r is ObjectRef => !!r && typeof (r as ObjectRef).name === "string" && typeof (r as ObjectRef).uid === "string";

/** The kubernetes.io claim, if the payload has one of the shape we issue and it agrees with sub. */
function claimOf(p: JWTPayload): KubernetesClaim | undefined {
  const c = p["kubernetes.io"] as KubernetesClaim | undefined;
  if (!c || typeof c.namespace !== "string" || !isRef(c.serviceaccount)) return undefined;
  if ((c.pod && !isRef(c.pod)) || (c.secret && !isRef(c.secret))) return undefined;
  if (p.sub !== serviceAccountUsername(c.namespace, c.serviceaccount.name)) return undefined;
  return c;
}

/** JWS compact form: three base64url parts. Anything else is not ours, and costs no crypto. */
const looksLikeJwt = (t: string) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(t) && t.startsWith("eyJ");

export function createServiceAccountAuthenticator(key: Pick<ServiceAccountKey, "publicKey"> | Promise<Pick<ServiceAccountKey, "publicKey">>, view: ServiceAccountTokenView, opts: ServiceAccountAuthOptions = {}): TokenLookup {
  const audiences = [...(opts.audiences ?? API_AUDIENCES)];
  const now = opts.now ?? Date.now;
  const cacheSize = opts.cacheSize ?? 1024;
  const verified = new Map<string, Verified>();

  const alive = (obj: KubeObject | undefined, ref: ObjectRef, at: number) => {
    if (!obj || obj.metadata.uid !== ref.uid) return false;
    const deleted = obj.metadata.deletionTimestamp;
    return !deleted || Date.parse(deleted) > at;
  };

  /** The checks that can change from one request to the next: time, and what the token is bound to. */
  const current = (v: Verified): UserInfo | undefined => {
    const at = now();
    if (at >= v.exp * 1000 || at < v.nbf * 1000) return undefined;
    const { namespace, serviceaccount, pod, secret } = v.claim;
    if (!alive(view.getServiceAccount(namespace, serviceaccount.name), serviceaccount, at)) return undefined;
    if (pod && !alive(view.getPod(namespace, pod.name), pod, at)) return undefined;
    if (secret && !alive(view.getSecret(namespace, secret.name), secret, at)) return undefined;
    return serviceAccountUser(namespace, serviceaccount.name);
  };

  const verify = async (token: string): Promise<UserInfo | undefined> => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (await key).publicKey, {
        algorithms: ["ES256"],
        issuer: SERVICE_ACCOUNT_ISSUER,
        audience: audiences,
        requiredClaims: ["exp", "iat", "nbf", "sub"],
        currentDate: new Date(now()),
      }));
    } catch (e) {
      if (e instanceof errors.JOSEError) return undefined;
      throw e;
    }
    const claim = claimOf(payload);
    if (!claim) return undefined;
    const v: Verified = { exp: payload.exp!, nbf: payload.nbf!, claim };
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
    return looksLikeJwt(token) ? verify(token) : undefined;
  };
}
