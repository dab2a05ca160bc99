export { ADMIN, bearerAuthenticator, type Authentication, bearerToken, chainAuthenticators, createTokenAuthenticator, isPublicPath, unauthorizedResponse, type Authenticator, type UserInfo } from "./authenticator";
export { adminTokenPath, ensureAdminToken, joinTokenPath, randomToken } from "./tokens";
export { createNodeAuthenticator, nodeNameOf, nodeUser } from "./node-credentials";
export { createAuthorizer, forbiddenMessage, type Authorizer, type AuthorizerView, type RequestAttributes } from "./authorizer";
export { checkAccess, requestAttributes, type ResourceTarget } from "./request-attributes";
export * from "./serviceaccount/index";
export { feedRbacIndex } from "./rbac/feed";
export { RbacIndex } from "./rbac/index";
export { ensureBootstrapPolicy } from "./rbac/bootstrap";
