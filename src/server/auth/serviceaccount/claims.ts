// Service-account tokens as kube-apiserver issues them: JWTs with the registered claims (iss,
// sub, aud, exp, iat, nbf, jti) and the private "kubernetes.io" claim naming the namespace, the
// account and, for bound tokens, the pod (plus its node) or secret they live and die with.
import { SignJWT } from "jose";
import type { UserInfo } from "../authenticator";
import type { ServiceAccountKey } from "./keys";

/** The issuer, and the API server's own audience (upstream defaults --api-audiences to the issuer). */
export const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";
export const API_AUDIENCES: readonly string[] = [SERVICE_ACCOUNT_ISSUER];

export const SERVICE_ACCOUNT_USER_PREFIX = "system:serviceaccount:";
export const SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts";

export interface ObjectRef {
  name: string;
  uid: string;
}

/** The "kubernetes.io" claim (upstream's pkg/serviceaccount privateClaims). */
export interface KubernetesClaim {
  namespace: string;
  serviceaccount: ObjectRef;
  pod?: ObjectRef;
  secret?: ObjectRef;
  /** The node of a bound pod, when the pod is scheduled (upstream adds it since 1.30). */
  node?: ObjectRef;
}

export interface TokenGrant extends KubernetesClaim {
  audiences: string[];
  expirationSeconds: number;
}

export const serviceAccountUsername = (namespace: string, name: string) => `${SERVICE_ACCOUNT_USER_PREFIX}${namespace}:${name}`;

export const serviceAccountUser = (namespace: string, name: string): UserInfo => ({
  user: serviceAccountUsername(namespace, name),
  groups: [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${namespace}`, "system:authenticated"],
});

/** The namespace and name of a `system:serviceaccount:<ns>:<name>` user, else undefined. */
export function serviceAccountOf(u: UserInfo): { namespace: string; name: string } | undefined {
  if (!u.user.startsWith(SERVICE_ACCOUNT_USER_PREFIX) || !u.groups.includes(SERVICE_ACCOUNTS_GROUP)) return undefined;
  const [namespace, name, ...rest] = u.user.slice(SERVICE_ACCOUNT_USER_PREFIX.length).split(":");
  return namespace && name && rest.length === 0 ? { namespace, name } : undefined;
}

export interface SignedToken {
  token: string;
  expiresAt: Date;
}

export type ServiceAccountTokenSigner = (grant: TokenGrant) => Promise<SignedToken>;

/** Signs grants with `key` (whole seconds, as JWT NumericDates are). */
export function tokenSigner(key: ServiceAccountKey | Promise<ServiceAccountKey>, now: () => number = Date.now): ServiceAccountTokenSigner {
  return async (g) => {
    const { privateKey, keyId } = await key;
    const iat = Math.floor(now() / 1000);
    const exp = iat + g.expirationSeconds;
    const claim: KubernetesClaim = { namespace: g.namespace, serviceaccount: g.serviceaccount };
    if (g.pod) claim.pod = g.pod;
    if (g.secret) claim.secret = g.secret;
    if (g.node) claim.node = g.node;
    const token = await new SignJWT({ "kubernetes.io": claim })
      .setProtectedHeader({ alg: "ES256", kid: keyId })
      .setIssuer(SERVICE_ACCOUNT_ISSUER)
      .setSubject(serviceAccountUsername(g.namespace, g.serviceaccount.name))
      .setAudience(g.audiences)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .setJti(crypto.randomUUID())
      .sign(privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
  };
}
