export { joinRoutes, JOIN_CA_PATH, JOIN_PATH, MAX_JOIN_BODY_BYTES } from "./routes";
export { exchangeToken, type JoinRequest, type JoinResponse } from "./exchange";
export { ensureServerToken, type ServerToken } from "./server-token";
export { serverNodeCredential, serverNodeKubeconfigPath } from "./server-node";
