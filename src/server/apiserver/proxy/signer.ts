// The API server's credential towards agents: a short-lived ES256 JWT signed with the cluster
// CA's key, audience bound to one node (contract in src/api/kubelet-api.ts). The CA key signs
// certificates too; a JWS signing input (base64url text) can never be mistaken for a DER
// certificate body, so the one key serves both without ambiguity, and agents need no new trust.
import { SignJWT } from "jose";
import { existsSync, readFileSync } from "node:fs";
import { ApiError } from "../../../api/errors";
import { KUBELET_TOKEN_ISSUER, KUBELET_TOKEN_TTL_SECONDS, kubeletTokenAudience } from "../../../api/kubelet-api";
import { caPaths } from "../../pki/ca";
import { privateKeyFromPem } from "../../pki/keys";
import { tlsDir } from "../../pki/index";

export type KubeletTokenSigner = (node: string) => Promise<string>;

export function signerWithKey(key: CryptoKey | Promise<CryptoKey>): KubeletTokenSigner {
  return async (node) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "ES256", typ: "JWT" })
      .setIssuer(KUBELET_TOKEN_ISSUER)
      .setSubject("system:kube-apiserver")
      .setAudience(kubeletTokenAudience(node))
      .setIssuedAt()
      .setExpirationTime(`${KUBELET_TOKEN_TTL_SECONDS}s`)
      .sign(await key);
}

/** Reads the CA key from <data-dir>/server/tls on first use (only servers with a CA proxy to agents). */
export function caKeySigner(dataDir: string): KubeletTokenSigner {
  let signer: KubeletTokenSigner | undefined;
  return (node) => {
    if (!signer) {
      const path = caPaths(tlsDir(dataDir)).key;
      if (!existsSync(path)) throw new ApiError(503, "ServiceUnavailable", "this API server has no cluster CA key to authenticate to agents with");
      signer = signerWithKey(privateKeyFromPem(readFileSync(path, "utf8")));
    }
    return signer(node);
  };
}
