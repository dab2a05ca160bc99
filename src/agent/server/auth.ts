// Who may call the agent: only the API server, proving it with a short-lived JWT signed by the
// cluster CA's key (see src/api/kubelet-api.ts). The agent already holds the CA certificate
// (pinned at join, or handed over when embedded), so it needs no secret of its own; the
// audience names this node, so a token minted for another node is refused here.
import { KUBELET_TOKEN_ISSUER, kubeletTokenAudience } from "../../api/kubelet-api";

export type RequestAuthenticator = (req: Request) => Promise<boolean>;

export function apiServerAuthenticator(caCertPem: string, nodeName: string): RequestAuthenticator {
  const pem = firstCertificate(caCertPem);
  // jose is loaded by the first request (kubectl logs/exec), not at start: loading it costs the
  // agent ~7 MB of RSS (of an agent's 60 MB budget), and many nodes never serve a request.
  let verifier: Promise<{ jwtVerify: typeof import("jose").jwtVerify; key: CryptoKey }> | undefined;
  const load = () => (verifier ??= import("jose").then(async ({ importX509, jwtVerify }) => ({ jwtVerify, key: await importX509(pem, "ES256") })));
  return async (req) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "");
    if (!m) return false;
    try {
      const { jwtVerify, key } = await load();
      await jwtVerify(m[1]!, key, {
        issuer: KUBELET_TOKEN_ISSUER,
        audience: kubeletTokenAudience(nodeName),
        algorithms: ["ES256"],
        requiredClaims: ["exp", "iat"],
        // Clocks of small boards drift (no RTC on a Pi): tolerate some skew.
        clockTolerance: 60,
      });
      return true;
    } catch {
      return false;
    }
  };
}

/** importX509 wants exactly one PEM block. */
function firstCertificate(pem: string): string {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error("the cluster CA certificate is not PEM");
  return m[0];
}
