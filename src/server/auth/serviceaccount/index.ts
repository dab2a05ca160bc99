export { createServiceAccountAuthenticator, type ServiceAccountAuthOptions, type ServiceAccountTokenView, type TokenLookup } from "./authenticate";
export {
  API_AUDIENCES,
  SERVICE_ACCOUNT_ISSUER,
  serviceAccountOf,
  serviceAccountUser,
  serviceAccountUsername,
  tokenSigner,
  type KubernetesClaim,
  type ServiceAccountTokenSigner,
  type SignedToken,
  type TokenGrant,
} from "./claims";
export { ensureServiceAccountKey, generateServiceAccountKey, serviceAccountKeyPath, type ServiceAccountKey } from "./keys";
