// The join endpoints on the API server's HTTPS port, served without authentication (the node
// has no credentials yet): the CA certificate, which the node pins by hash before it trusts
// anything, and the bootstrap-token exchange.
import type { Hono } from "hono";
import { ApiError, badRequest } from "../../api/errors";
import type { Logger } from "../../machinery/log";
import type { ApiContext } from "../apiserver/handlers/context";
import { exchangeToken, parseJoinRequest } from "./exchange";
import { JOIN_CA_PATH, JOIN_PATH } from "./paths";

export { JOIN_CA_PATH, JOIN_PATH } from "./paths";

/** Join requests carry a token and a name: anything bigger is not one. */
const MAX_BODY_BYTES = 16 * 1024;

export function joinRoutes(caCertPem: string, log: Logger) {
  return (app: Hono<any>, ctx: ApiContext) => {
    app.get(JOIN_CA_PATH, () => new Response(caCertPem, { headers: { "content-type": "application/x-pem-file" } }));
    app.post(JOIN_PATH, async (c) => {
      const text = await c.req.text();
      if (text.length > MAX_BODY_BYTES) throw new ApiError(413, "RequestEntityTooLarge", "join request too large");
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw badRequest("the join request is not JSON");
      }
      return Response.json(await exchangeToken(ctx, parseJoinRequest(body), log));
    });
  };
}
