// Bearer-token authentication for the API server: the cluster admin (whose token sits in the
// admin kubeconfig), nodes (their credentials, see node-credentials.ts) and service accounts
// (signed JWTs, see serviceaccount/), chained. The first two answer synchronously; a JWT seen
// for the first time needs an asynchronous signature check, so an authenticator may return a
// promise, and callers await only when it does.

import { timingSafeEqual } from "node:crypto";
import { JOIN_CA_PATH, JOIN_PATH } from "../join/paths";

export interface UserInfo {
  user: string;
  groups: string[];
}

export type Authentication = UserInfo | undefined | Promise<UserInfo | undefined>;
export type Authenticator = (req: Request) => Authentication;

/** Paths a load balancer or probe may hit without credentials (like kube-apiserver's defaults). */
const PUBLIC_PATHS = new Set(["/healthz", "/readyz", "/livez"]);
/** A node that is joining has no credentials yet; these check the bootstrap token themselves. */
const JOIN_PATHS = new Set([JOIN_CA_PATH, JOIN_PATH]);

export function isPublicPath(pathname: string): boolean {
  if (PUBLIC_PATHS.has(pathname) || JOIN_PATHS.has(pathname)) return true;
  // /healthz/ping, /readyz/etcd, ... are the individual checks of the same endpoints.
  const slash = pathname.indexOf("/", 1);
  return slash > 0 && PUBLIC_PATHS.has(pathname.slice(0, slash));
}

export const ADMIN: UserInfo = { user: "system:admin", groups: ["system:masters", "system:authenticated"] };

const sha256 = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest();

/** The token from "Authorization: Bearer <token>" (scheme case-insensitive, as in RFC 6750). */
export function bearerToken(req: Request): string | undefined {
  const header = req.headers.get("authorization");
  const m = header && /^bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}

export function createTokenAuthenticator(tokens: ReadonlyArray<{ token: string; user: UserInfo }>): Authenticator {
  // Compare fixed-length digests so neither the content nor the length of a token leaks through
  // timing; check every entry instead of returning early for the same reason.
  const entries = tokens.map((t) => ({ digest: sha256(t.token), user: t.user }));
  return (req) => {
    const presented = bearerToken(req);
    if (presented === undefined) return undefined;
    const digest = sha256(presented);
    let found: UserInfo | undefined;
    for (const e of entries) if (timingSafeEqual(e.digest, digest)) found ??= e.user;
    return found;
  };
}

/** The first authenticator that knows the request's bearer token wins; synchronous while they are. */
export function chainAuthenticators(...authenticators: Authenticator[]): Authenticator {
  const from = (req: Request, i: number): Authentication => {
    for (; i < authenticators.length; i++) {
      const u = authenticators[i]!(req);
      if (u instanceof Promise) return u.then((found) => found ?? from(req, i + 1));
      if (u) return u;
    }
    return undefined;
  };
  return (req) => from(req, 0);
}

/** Adapts a token → user lookup (node credentials, service-account tokens) into an Authenticator. */
export function bearerAuthenticator(lookup: (token: string) => Authentication): Authenticator {
  return (req) => {
    const t = bearerToken(req);
    return t === undefined ? undefined : lookup(t);
  };
}

/** The 401 a client gets without valid credentials, as the metav1.Status kubectl expects. */
export function unauthorizedResponse(): Response {
  return Response.json(
    { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 },
    { status: 401 },
  );
}
