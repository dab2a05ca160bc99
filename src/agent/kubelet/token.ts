// Service-account tokens for pods, as upstream's kubelet gets them: a TokenRequest through the
// node's own credential, bound to the pod (name and uid), so the token dies with the pod and the
// node authorizer can check the node runs it. The kubelet keeps the token until 80% of its
// lifetime (tokenRefreshAt) and rewrites the volume atomically (volumes.ts).
import { ApiError } from "../../api/errors";
import type { Pod } from "../../api/resources/core/pod";
import { serviceAccounts } from "../../client/refs";
import type { KubeClient } from "../../client/client";

/** Upstream's kubelet asks for 3607 s for the default projected token (one hour, marked). */
export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3607;

export interface TokenRequesterOptions {
  /** A pod created together with its namespace may come before the namespace's `default` account: wait this long for it. */
  missingAccountWaitMs?: number;
}

export function serviceAccountTokenRequester(client: KubeClient, opts: TokenRequesterOptions = {}) {
  const accounts = client.resource(serviceAccounts);
  return async (pod: Pod, audience?: string, expirationSeconds?: number): Promise<string> => {
    const account = pod.spec?.serviceAccountName || "default";
    const body = {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      metadata: {},
      spec: {
        audiences: audience ? [audience] : null,
        expirationSeconds: expirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS,
        boundObjectRef: { kind: "Pod", apiVersion: "v1", name: pod.metadata.name, uid: pod.metadata.uid },
      },
    };
    const deadline = Date.now() + (opts.missingAccountWaitMs ?? 3_000);
    for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
      try {
        const res = (await accounts.post(pod.metadata.namespace, account, "token", body)) as { status?: { token?: string } };
        if (!res.status?.token) throw new Error(`the API server returned no token for service account ${pod.metadata.namespace}/${account}`);
        return res.status.token;
      } catch (e) {
        const missingAccount = e instanceof ApiError && e.code === 404 && /serviceaccounts/.test(e.message);
        if (!missingAccount || Date.now() + delay > deadline) throw e;
        await Bun.sleep(delay);
      }
    }
  };
}

/**
 * When a token should be replaced: at 80% of its lifetime (from its iat and exp claims), as
 * upstream's kubelet does; for a token it cannot read, after 80% of `fallbackSeconds`.
 */
export function tokenRefreshAt(token: string, fetchedAtMs: number, fallbackSeconds: number): number {
  try {
    // Only the claims are read (no verification: the API server made it), so no JWT library is
    // loaded for this: jose costs the agent a few MB of RSS.
    const { iat, exp } = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as { iat?: unknown; exp?: unknown };
    if (typeof iat === "number" && typeof exp === "number" && exp > iat) return (iat + 0.8 * (exp - iat)) * 1000;
  } catch {}
  return fetchedAtMs + fallbackSeconds * 800;
}
