// The server's own node (the agent `bramble server` runs in-process) is a node like any other:
// it authenticates as system:node:<name> with a node credential, so the node authorizer bounds
// what it may do, as upstream's kubelet is a node user on control-plane machines too. A fresh
// credential is issued on every start (revoking the last one, which only this process held);
// it is marked as the server's, so its name is never handed to a joiner, even before the Node
// is registered.
import type { Secret } from "../../api/resources/secret";
import { NODE_CREDENTIAL_NAMESPACE, nodeCredentialSecretName } from "../auth/node-credentials";
import type { ApiContext } from "../apiserver/handlers/context";
import { checkNodeName, issueNodeCredential } from "./exchange";

export async function issueServerNodeCredential(ctx: ApiContext, name: string): Promise<string> {
  checkNodeName(name);
  const existing = ctx.objects.tryGet(ctx.resource("", "secrets"), NODE_CREDENTIAL_NAMESPACE, nodeCredentialSecretName(name)) as Secret | undefined;
  return issueNodeCredential(ctx, name, existing, { serverNode: true });
}
