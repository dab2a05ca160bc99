export { ADMIN, bearerToken, createTokenAuthenticator, isPublicPath, unauthorizedResponse, type Authenticator, type UserInfo } from "./authenticator";
export { adminTokenPath, ensureAdminToken, ensureJoinToken, joinTokenPath, randomToken } from "./tokens";
