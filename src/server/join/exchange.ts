// The join exchange: a joining node presents a join token (a bootstrap token, or the server
// token) and the name it wants, and gets a credential of its own bound to that name. Names are
// first come, first served, as kubeadm refuses a join whose node name exists: a name that belongs
// to a registered Node, or to a server's own node, is never handed to a new joiner. Only a
// caller proving it is that node (presenting the node's current credential) gets it again.
import { ApiError, badRequest } from "../../api/errors";
import type { Secret } from "../../api/resources/core/secret";
import { isDns1123Subdomain } from "../../api/validation";
import type { Logger } from "../../machinery/log";
import { BOOTSTRAP_TOKEN_NAMESPACE, checkToken, parseToken, tokenSecretName } from "../auth/bootstrap-token";
import {
  credentialMatches,
  isServerNodeCredential,
  MAX_JOIN_NODE_NAME,
  newNodeCredential,
  NODE_CREDENTIAL_NAMESPACE,
  nodeCredentialSecret,
  nodeCredentialSecretName,
} from "../auth/node-credentials";
import type { ApiContext } from "../apiserver/handlers/context";
import { serverTokenMatches, serverTokenRefused, type ServerToken } from "./server-token";

export interface JoinRequest {
  /** A bootstrap token "<id>.<secret>", or the server token's secret. */
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

/** Longer than any token or credential bramble issues; a bound on what is hashed per request. */
const MAX_TOKEN_CHARS = 1024;

export function parseJoinRequest(body: unknown): JoinRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("the join request must be a JSON object");
  const b = body as Record<string, unknown>;
  if (typeof b.token !== "string" || !b.token) throw badRequest("token: a bootstrap token or the server token is required");
  if (b.token.length > MAX_TOKEN_CHARS) throw badRequest(`token: longer than ${MAX_TOKEN_CHARS} characters`);
  if (typeof b.nodeName !== "string" || !b.nodeName) throw badRequest("nodeName: a node name is required");
  if (b.credential !== undefined && b.credential !== null && typeof b.credential !== "string") throw badRequest("credential: must be a string");
  return { token: b.token, nodeName: b.nodeName, credential: typeof b.credential === "string" ? b.credential : undefined };
}

/** One answer for every bad bootstrap token, so the endpoint does not tell which token ids exist. */
const tokenRefused = (id: string) => new ApiError(401, "Unauthorized", `bootstrap token "${id}" is not valid for this cluster or has expired`);

/** Which token let the caller in, for the log; throws the 401 otherwise. */
function checkJoinToken(ctx: ApiContext, presented: string, serverToken: ServerToken | undefined, log: Logger, node: string): string {
  if (serverTokenMatches(serverToken, presented)) return "server token";
  const token = parseToken(presented);
  if (!token) {
    log.warn("join refused: wrong server token", { node });
    throw serverTokenRefused();
  }
  const secret = ctx.objects.tryGet(ctx.resource("", "secrets"), BOOTSTRAP_TOKEN_NAMESPACE, tokenSecretName(token.id)) as Secret | undefined;
  const check = checkToken(secret, token);
  if (!check.ok) {
    log.warn("join refused: bad bootstrap token", { tokenId: token.id, why: check.why, node });
    throw tokenRefused(token.id);
  }
  return `bootstrap token ${token.id}`;
}

export function checkNodeName(name: string): void {
  const problem = name.length > MAX_JOIN_NODE_NAME ? `must be no more than ${MAX_JOIN_NODE_NAME} characters` : isDns1123Subdomain(name)[0];
  if (problem) throw badRequest(`nodeName: "${name}" is not a valid node name: ${problem}`);
}

export async function exchangeToken(ctx: ApiContext, req: JoinRequest, log: Logger, serverToken?: ServerToken): Promise<JoinResponse> {
  const via = checkJoinToken(ctx, req.token, serverToken, log, req.nodeName);
  const name = req.nodeName;
  checkNodeName(name);

  const existing = ctx.objects.tryGet(ctx.resource("", "secrets"), NODE_CREDENTIAL_NAMESPACE, nodeCredentialSecretName(name)) as Secret | undefined;
  if (existing && req.credential && credentialMatches(existing, req.credential)) {
    return { kind: "NodeCredential", nodeName: name, token: req.credential };
  }
  const nodeExists = ctx.objects.tryGet(ctx.resource("", "nodes"), undefined, name) !== undefined;
  if (nodeExists || isServerNodeCredential(existing)) {
    log.warn("join refused: node name taken", { node: name, via, serverNode: isServerNodeCredential(existing) });
    throw new ApiError(
      409,
      "Conflict",
      `a node named "${name}" has already joined this cluster; give this machine another --node-name, or remove the old node first (kubectl delete node ${name})`,
    );
  }

  // No Node of that name (never joined, or deleted by an admin): issue a fresh credential,
  // which also revokes any older one for the name.
  const credential = await issueNodeCredential(ctx, name, existing);
  log.info("node joined", { node: name, via, replacedCredential: existing !== undefined });
  return { kind: "NodeCredential", nodeName: name, token: credential };
}

/**
 * Writes a new credential for `name` (replacing `existing`, which it revokes) and returns it.
 * The server's own node gets its credential this way too, marked so that no joiner takes its name.
 */
export async function issueNodeCredential(ctx: ApiContext, name: string, existing: Secret | undefined, opts: { serverNode?: boolean } = {}): Promise<string> {
  const secrets = ctx.resource("", "secrets");
  const credential = newNodeCredential(name);
  const secret = nodeCredentialSecret(name, credential, opts);
  if (existing) await ctx.objects.update(secrets, NODE_CREDENTIAL_NAMESPACE, nodeCredentialSecretName(name), { ...secret, metadata: { ...secret.metadata, resourceVersion: existing.metadata.resourceVersion } });
  else await ctx.objects.create(secrets, NODE_CREDENTIAL_NAMESPACE, secret);
  return credential;
}
