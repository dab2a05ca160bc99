export { createUserCredentialAuthenticator, type UserCredentialView } from "./authenticate";
export {
  credentialInfo,
  nameProblem,
  requestProblems,
  USER_CREDENTIAL_AUDIENCE,
  USER_CREDENTIAL_ISSUER,
  USER_CREDENTIAL_NAMESPACE,
  USER_CREDENTIAL_TYPE,
  userCredentialSecretName,
  type CredentialInfo,
  type CredentialRequest,
  type IssuedCredential,
} from "./credentials";
export { ensureUserCredentialKey, generateUserCredentialKey, userCredentialKeyPath, type SigningKey } from "./keys";
export { isUserCredentialsPath, recordsOf, USER_CREDENTIALS_PATH, userCredentialsResponse, type CredentialRecords } from "./routes";
