// The server's own node (the agent `bramble server` runs in-process) is a node like any other:
// it authenticates as system:node:<name> with a node credential, so the node authorizer bounds
// what it may do, as upstream's kubelet is a node user on control-plane machines too. The
// credential is kept in a kubeconfig under the data dir (owner-only, as k3s keeps its server's
// kubelet.kubeconfig) and reused while its Secret still matches; otherwise (first start, or an
// admin deleted the Secret to revoke it) a new one is issued. Its Secret is marked as the
// server's, so the name is never handed to a joiner, even before the Node is registered.
import { join } from "node:path";
import { existsSync } from "node:fs";
import type { Secret } from "../../api/resources/core/secret";
import { adminKubeconfig, readKubeconfig, resolveContext, writeKubeconfig } from "../../client/kubeconfig";
import { credentialMatches, isServerNodeCredential, NODE_CREDENTIAL_NAMESPACE, nodeCredentialSecretName } from "../auth/node-credentials";
import type { ApiContext } from "../apiserver/handlers/context";
import { checkNodeName, issueNodeCredential } from "./exchange";

export const serverNodeKubeconfigPath = (dataDir: string) => join(dataDir, "server", "node.kubeconfig");

export interface ServerNodeCredential {
  token: string;
  /** False when the stored credential was still valid and reused. */
  issued: boolean;
}

function storedToken(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return resolveContext(readKubeconfig(path)).token;
  } catch {
    return undefined; // unreadable: a new credential replaces it
  }
}

/** The credential of the server's node `name`, reused or issued; its kubeconfig names `serverUrl`. */
export async function serverNodeCredential(ctx: ApiContext, o: { dataDir: string; nodeName: string; serverUrl: string; caCertPem: string }): Promise<ServerNodeCredential> {
  checkNodeName(o.nodeName);
  const path = serverNodeKubeconfigPath(o.dataDir);
  const existing = ctx.objects.tryGet(ctx.resource("", "secrets"), NODE_CREDENTIAL_NAMESPACE, nodeCredentialSecretName(o.nodeName)) as Secret | undefined;
  const stored = storedToken(path);
  if (stored && isServerNodeCredential(existing) && credentialMatches(existing, stored)) return { token: stored, issued: false };
  const token = await issueNodeCredential(ctx, o.nodeName, existing, { serverNode: true });
  writeKubeconfig(path, adminKubeconfig({ server: o.serverUrl, caCertPem: o.caCertPem, token, name: o.nodeName }));
  return { token, issued: true };
}
