// The admin-only endpoint behind `bramble kubeconfig create|list|revoke`: the server holds the
// signing key, so credentials are minted here, never by reading the key from disk, and the
// CLI needs only the admin kubeconfig. Only the cluster admin (group system:masters) may call it:
// whoever mints credentials can name any user and group, which is as much as the admin can.
//   GET  /v1-bramble/user-credentials          every credential's record (no tokens)
//   POST /v1-bramble/user-credentials          {user, groups, ttlSeconds, force?} → a new credential
//   POST /v1-bramble/user-credentials/revoke   {user} or {id} → the credentials revoked
import { ApiError, badRequest, methodNotAllowed } from "../../../api/errors";
import type { Secret } from "../../../api/resources/core/secret";
import type { ApiContext } from "../../apiserver/handlers/context";
import type { UserInfo } from "../authenticator";
import { credentialInfo, credentialSecret, newCredential, nowIso, requestProblems, USER_CREDENTIAL_NAMESPACE, USER_CREDENTIAL_TYPE, userCredentialSecretName, type CredentialInfo, type CredentialRequest } from "./credentials";
import type { SigningKey } from "./keys";

export const USER_CREDENTIALS_PATH = "/v1-bramble/user-credentials";
export const isUserCredentialsPath = (pathname: string) => pathname === USER_CREDENTIALS_PATH || pathname.startsWith(`${USER_CREDENTIALS_PATH}/`);

/** Records older than this past their expiry are removed when a new credential is issued. */
const KEEP_EXPIRED_MS = 24 * 3600 * 1000;
const MAX_BODY_BYTES = 64 * 1024;

/** Where the records live: Secrets in kube-system (an interface so tests need no API server). */
export interface CredentialRecords {
  list(): Secret[];
  get(name: string): Secret | undefined;
  create(s: Secret): Promise<void>;
  /** Replaces `s` (its metadata.resourceVersion is the expected one). */
  update(s: Secret): Promise<void>;
  delete(name: string): Promise<void>;
}

export function recordsOf(ctx: ApiContext): CredentialRecords {
  const secrets = () => ctx.resource("", "secrets");
  return {
    list: () => ctx.objects.list(secrets(), USER_CREDENTIAL_NAMESPACE).items.filter((s) => (s as Secret).type === USER_CREDENTIAL_TYPE) as Secret[],
    get: (name) => ctx.objects.tryGet(secrets(), USER_CREDENTIAL_NAMESPACE, name) as Secret | undefined,
    create: async (s) => void (await ctx.objects.create(secrets(), USER_CREDENTIAL_NAMESPACE, s)),
    update: async (s) => void (await ctx.objects.update(secrets(), USER_CREDENTIAL_NAMESPACE, s.metadata.name!, s)),
    delete: async (name) => void (await ctx.deleter.delete(secrets(), USER_CREDENTIAL_NAMESPACE, name)),
  };
}

async function body(req: Request): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (text.length > MAX_BODY_BYTES) throw badRequest("request body too large");
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw badRequest("request body is not JSON");
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw badRequest("request body must be a JSON object");
  return v as Record<string, unknown>;
}

const byIssued = (a: CredentialInfo, b: CredentialInfo) => a.issued.localeCompare(b.issued) || a.user.localeCompare(b.user) || a.id.localeCompare(b.id);

export interface UserCredentialsOptions {
  key: SigningKey | Promise<SigningKey>;
  records: () => CredentialRecords;
  now?: () => number;
}

/** Answers an authenticated request under USER_CREDENTIALS_PATH. */
export async function userCredentialsResponse(o: UserCredentialsOptions, req: Request, user: UserInfo): Promise<Response> {
  const now = o.now ?? Date.now;
  try {
    if (!user.groups.includes("system:masters")) {
      throw new ApiError(403, "Forbidden", `User "${user.user}" cannot manage user credentials: only the cluster admin can`);
    }
    const action = new URL(req.url).pathname.slice(USER_CREDENTIALS_PATH.length);
    const records = o.records();
    if (action === "" || action === "/") {
      if (req.method === "GET") {
        const items = records.list().map(credentialInfo).filter((i): i is CredentialInfo => i !== undefined).sort(byIssued);
        return Response.json({ items });
      }
      if (req.method !== "POST") throw methodNotAllowed(`${req.method} is not supported on ${USER_CREDENTIALS_PATH} (use GET or POST)`);
      const b = await body(req);
      const r = { user: b.user, groups: b.groups ?? [], ttlSeconds: b.ttlSeconds, force: b.force === true } as CredentialRequest;
      const problems = requestProblems(r);
      if (problems.length) throw badRequest(problems.join("; "));
      const at = now();
      for (const s of records.list()) {
        const info = credentialInfo(s);
        if (info && Date.parse(info.expires) + KEEP_EXPIRED_MS < at) await records.delete(s.metadata.name!).catch(() => {});
      }
      const issued = await newCredential(await o.key, r, at);
      const { token: _, ...info } = issued;
      await records.create(credentialSecret(info));
      return Response.json(issued, { status: 201 });
    }
    if (action !== "/revoke") throw new ApiError(404, "NotFound", `the server could not find the requested resource (want ${USER_CREDENTIALS_PATH} or ${USER_CREDENTIALS_PATH}/revoke)`);
    if (req.method !== "POST") throw methodNotAllowed(`${req.method} is not supported on ${USER_CREDENTIALS_PATH}/revoke (use POST)`);
    const b = await body(req);
    const hasUser = typeof b.user === "string" && b.user !== "";
    const hasId = typeof b.id === "string" && b.id !== "";
    if (hasUser === hasId) throw badRequest("name exactly one of user or id");
    const matches = hasId
      ? [records.get(userCredentialSecretName(b.id as string))].filter((s): s is Secret => credentialInfo(s) !== undefined)
      : records.list().filter((s) => credentialInfo(s)?.user === b.user);
    if (matches.length === 0) throw new ApiError(404, "NotFound", hasId ? `user credential "${b.id}" not found` : `no credentials issued to user "${b.user}"`);
    const revokedAt = nowIso(Math.floor(now() / 1000) * 1000);
    const revoked: CredentialInfo[] = [];
    for (const s of matches) {
      const info = credentialInfo(s)!;
      if (!info.revoked) {
        const next = credentialSecret({ ...info, revoked: revokedAt });
        next.metadata = { ...s.metadata, ...next.metadata, resourceVersion: s.metadata.resourceVersion };
        await records.update(next);
        info.revoked = revokedAt;
      }
      revoked.push(info);
    }
    return Response.json({ items: revoked.sort(byIssued) });
  } catch (e) {
    const err = e instanceof ApiError ? e : new ApiError(500, "InternalError", e instanceof Error ? e.message : String(e));
    return Response.json(err.toStatus(), { status: err.code });
  }
}
