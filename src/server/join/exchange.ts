// The bootstrap-token exchange: a joining node presents a bootstrap token and the name it wants,
// and gets a credential of its own bound to that name. Names are first come, first served: a
// second machine asking for the name of a registered Node is refused unless it proves it is
// that node (presents the node's current credential), so one node cannot take over another.
import { ApiError, badRequest } from "../../api/errors";
import type { Secret } from "../../api/resources/secret";
import { isDns1123Subdomain } from "../../api/validation";
import type { Logger } from "../../machinery/log";
import { BOOTSTRAP_TOKEN_NAMESPACE, checkToken, parseToken, tokenSecretName } from "../auth/bootstrap-token";
import { credentialMatches, MAX_JOIN_NODE_NAME, newNodeCredential, NODE_CREDENTIAL_NAMESPACE, nodeCredentialSecret, nodeCredentialSecretName } from "../auth/node-credentials";
import type { ApiContext } from "../apiserver/handlers/context";

export interface JoinRequest {
  token: string;
  nodeName: string;
  /** The node's current credential, when it has one and asks again (e.g. after losing its Node). */
  credential?: string;
}

export interface JoinResponse {
  kind: "NodeCredential";
  nodeName: string;
  token: string;
}

export function parseJoinRequest(body: unknown): JoinRequest {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.token !== "string") throw badRequest("token: a bootstrap token is required");
  if (typeof b.nodeName !== "string" || !b.nodeName) throw badRequest("nodeName: a node name is required");
  if (b.credential !== undefined && typeof b.credential !== "string") throw badRequest("credential: must be a string");
  return { token: b.token, nodeName: b.nodeName, credential: b.credential as string | undefined };
}

/** One answer for every bad token, so the endpoint does not tell which token ids exist. */
const tokenRefused = (id: string) => new ApiError(401, "Unauthorized", `bootstrap token "${id}" is not valid for this cluster or has expired`);

export async function exchangeToken(ctx: ApiContext, req: JoinRequest, log: Logger): Promise<JoinResponse> {
  const token = parseToken(req.token);
  if (!token) throw new ApiError(401, "Unauthorized", "the bootstrap token is malformed: expected [a-z0-9]{6}.[a-z0-9]{16}");
  const secrets = ctx.resource("", "secrets");
  const check = checkToken(ctx.objects.tryGet(secrets, BOOTSTRAP_TOKEN_NAMESPACE, tokenSecretName(token.id)) as Secret | undefined, token);
  if (!check.ok) {
    log.warn("join refused: bad bootstrap token", { tokenId: token.id, why: check.why, node: req.nodeName });
    throw tokenRefused(token.id);
  }

  const name = req.nodeName;
  const problem = name.length > MAX_JOIN_NODE_NAME ? `must be no more than ${MAX_JOIN_NODE_NAME} characters` : isDns1123Subdomain(name)[0];
  if (problem) throw badRequest(`nodeName: "${name}" is not a valid node name: ${problem}`);

  const credName = nodeCredentialSecretName(name);
  const existing = ctx.objects.tryGet(secrets, NODE_CREDENTIAL_NAMESPACE, credName) as Secret | undefined;
  const nodeExists = ctx.objects.tryGet(ctx.resource("", "nodes"), undefined, name) !== undefined;
  if (existing && req.credential && credentialMatches(existing, req.credential)) {
    return { kind: "NodeCredential", nodeName: name, token: req.credential };
  }
  if (existing && nodeExists) {
    log.warn("join refused: node name taken", { node: name, tokenId: token.id });
    throw new ApiError(
      409,
      "Conflict",
      `a node named "${name}" has already joined this cluster; give this machine another --node-name, or remove the old node first (kubectl delete node ${name})`,
    );
  }

  // No Node of that name (never joined, or deleted by an admin): issue a fresh credential,
  // which also revokes any older one for the name.
  const credential = newNodeCredential(name);
  const secret = nodeCredentialSecret(name, credential);
  if (existing) await ctx.objects.update(secrets, NODE_CREDENTIAL_NAMESPACE, credName, { ...secret, metadata: { ...secret.metadata, resourceVersion: existing.metadata.resourceVersion } });
  else await ctx.objects.create(secrets, NODE_CREDENTIAL_NAMESPACE, secret);
  log.info("node joined", { node: name, tokenId: token.id, replacedCredential: existing !== undefined });
  return { kind: "NodeCredential", nodeName: name, token: credential };
}
