// The admin-only endpoints behind `bramble secrets-encrypt` (k3s serves the same under
// /v1-k3s/encrypt/): the CLI talks to the running server, which owns the store and the keys.
// Only the cluster admin (group system:masters) may call them: status reveals nothing secret,
// but rotation rewrites every Secret, and node or service-account credentials have no business
// with either.
import { ApiError, methodNotAllowed } from "../../api/errors";
import type { UserInfo } from "../auth/index";
import type { SecretsEncryption } from "./secrets-encryption";

export const SECRETS_ENCRYPT_PATH = "/v1-bramble/secrets-encrypt";

const ACTIONS = { status: "GET", "rotate-keys": "POST", reencrypt: "POST" } as const;

export const isSecretsEncryptPath = (pathname: string) => pathname === SECRETS_ENCRYPT_PATH || pathname.startsWith(`${SECRETS_ENCRYPT_PATH}/`);

/** Answers an authenticated request under SECRETS_ENCRYPT_PATH. */
export async function secretsEncryptResponse(encryption: SecretsEncryption, req: Request, user: UserInfo): Promise<Response> {
  try {
    if (!user.groups.includes("system:masters")) {
      throw new ApiError(403, "Forbidden", `User "${user.user}" cannot manage secrets encryption: only the cluster admin can`);
    }
    const action = new URL(req.url).pathname.slice(SECRETS_ENCRYPT_PATH.length + 1) as keyof typeof ACTIONS;
    const method = Object.hasOwn(ACTIONS, action) ? ACTIONS[action] : undefined;
    if (!method) throw new ApiError(404, "NotFound", `the server could not find the requested resource (want ${SECRETS_ENCRYPT_PATH}/status, /rotate-keys or /reencrypt)`);
    if (req.method !== method) throw methodNotAllowed(`${req.method} is not supported on ${SECRETS_ENCRYPT_PATH}/${action} (use ${method})`);
    if (action === "status") return Response.json(await encryption.status());
    return Response.json(action === "rotate-keys" ? await encryption.rotateKeys() : await encryption.reencrypt());
  } catch (e) {
    const err = e instanceof ApiError ? e : new ApiError(500, "InternalError", e instanceof Error ? e.message : String(e));
    return Response.json(err.toStatus(), { status: err.code });
  }
}
