export { joinRoutes, JOIN_CA_PATH, JOIN_PATH } from "./routes";
export { exchangeToken, type JoinRequest, type JoinResponse } from "./exchange";
