// Node credentials: the bearer token a node gets in exchange for a bootstrap token, bound to
// `system:node:<name>`. The token is "node.<name>.<64 hex>" so the server finds the one Secret
// to compare against without scanning; only its SHA-256 is stored, in a Secret
// `node-credential-<name>` in kube-system (visible, deletable: deleting it revokes the node).

import { timingSafeEqual } from "node:crypto";
import type { Secret } from "../../api/resources/core/secret";
import type { UserInfo } from "./authenticator";
import { randomToken } from "./tokens";

export const NODE_CREDENTIAL_TYPE = "bramble.io/node-credential";
export const NODE_CREDENTIAL_NAMESPACE = "kube-system";
export const NODES_GROUP = "system:nodes";
export const NODE_USER_PREFIX = "system:node:";

export const nodeCredentialSecretName = (node: string) => `node-credential-${node}`;
/**
 * On the credential of a server's own node (the agent `bramble server` runs): that name is taken
 * from the moment the server starts, even before its Node is registered, so no joiner gets it.
 */
export const SERVER_NODE_LABEL = "bramble.io/server-node";
/** Secret names are DNS subdomains of at most 253 characters; the prefix takes 16. */
export const MAX_JOIN_NODE_NAME = 253 - "node-credential-".length;

export const nodeUser = (node: string): UserInfo => ({ user: NODE_USER_PREFIX + node, groups: [NODES_GROUP, "system:authenticated"] });

/** The node name of a `system:node:<name>` user in system:nodes, else undefined. */
export function nodeNameOf(u: UserInfo): string | undefined {
  return u.user.startsWith(NODE_USER_PREFIX) && u.groups.includes(NODES_GROUP) ? u.user.slice(NODE_USER_PREFIX.length) : undefined;
}

export function newNodeCredential(node: string): string {
  return `node.${node}.${randomToken()}`;
}

/** The node a credential claims to be, without checking it. */
export function credentialNode(token: string): string | undefined {
  const m = /^node\.(.+)\.([0-9a-f]{64})$/.exec(token);
  return m ? m[1] : undefined;
}

const digest = (token: string) => new Bun.CryptoHasher("sha256").update(token).digest("hex");

export function nodeCredentialSecret(node: string, token: string, opts: { serverNode?: boolean } = {}): Secret {
  const labels: Record<string, string> = { "bramble.io/node": node.slice(0, 63) };
  if (opts.serverNode) labels[SERVER_NODE_LABEL] = "true";
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: nodeCredentialSecretName(node), namespace: NODE_CREDENTIAL_NAMESPACE, labels },
    type: NODE_CREDENTIAL_TYPE,
    data: {
      node: Buffer.from(node).toString("base64"),
      "token-sha256": Buffer.from(digest(token)).toString("base64"),
    },
  };
}

export const isServerNodeCredential = (s: Secret | undefined) => s?.type === NODE_CREDENTIAL_TYPE && s.metadata.labels?.[SERVER_NODE_LABEL] === "true";

/** Whether `token` is the credential this Secret holds the digest of. */
export function credentialMatches(s: Secret | undefined, token: string): boolean {
  if (!s || s.type !== NODE_CREDENTIAL_TYPE) return false;
  const stored = Buffer.from(Buffer.from(s.data?.["token-sha256"] ?? "", "base64").toString("utf8"), "utf8");
  const given = Buffer.from(digest(token), "utf8");
  return stored.length === given.length && timingSafeEqual(stored, given);
}

/**
 * An authenticator for node credentials over a synchronous Secret lookup (the API server's
 * watch cache), so revoking a credential (deleting its Secret) takes effect at once.
 */
export function createNodeAuthenticator(getSecret: (namespace: string, name: string) => Secret | undefined) {
  return (token: string): UserInfo | undefined => {
    const node = credentialNode(token);
    if (!node) return undefined;
    return credentialMatches(getSecret(NODE_CREDENTIAL_NAMESPACE, nodeCredentialSecretName(node)), token) ? nodeUser(node) : undefined;
  };
}
