// The join endpoints on the API server's HTTPS port, served without authentication (the node
// has no credentials yet): the CA certificate, which the node pins by hash before it trusts
// anything, and the token exchange. Anyone who reaches the port may call them, so the exchange
// reads at most a small body, within a deadline, and sheds load per source (limits.ts).
import type { Hono } from "hono";
import type { Server } from "bun";
import { ApiError, badRequest, tooLarge } from "../../api/errors";
import type { Logger } from "../../machinery/log";
import type { ApiContext } from "../apiserver/handlers/context";
import { exchangeToken, parseJoinRequest } from "./exchange";
import { DEFAULT_JOIN_LIMITS, JoinLimiter, type JoinLimitOptions } from "./limits";
import { JOIN_CA_PATH, JOIN_PATH } from "./paths";
import type { ServerToken } from "./server-token";

export { JOIN_CA_PATH, JOIN_PATH } from "./paths";

/** Join requests carry a token, a name and maybe a credential: anything bigger is not one. */
export const MAX_JOIN_BODY_BYTES = 16 * 1024;
/**
 * A body that has not arrived by then is a client holding a slot, not a node joining. Shorter
 * than Bun's idle timeout (10 s, checked coarsely), which would cut the connection without an answer.
 */
const BODY_DEADLINE_MS = 5_000;

export interface JoinRouteOptions {
  caCertPem: string;
  log: Logger;
  /** The server token (--token); without it only bootstrap tokens are accepted. */
  serverToken?: ServerToken;
  limits?: JoinLimitOptions;
}

/**
 * The body as text: refused from its Content-Length before any of it is read, else read chunk by
 * chunk and cut off at the limit (a chunked body declares no length), within the deadline.
 */
export async function readJoinBody(req: Request, limit = MAX_JOIN_BODY_BYTES, deadlineMs = BODY_DEADLINE_MS): Promise<string> {
  const declared = req.headers.get("content-length");
  if (declared !== null && !/^\d+$/.test(declared.trim())) throw badRequest("the Content-Length header is not a number");
  if (Number(declared ?? 0) > limit) throw tooLarge(limit);
  if (!req.body) return "";
  const reader = req.body.getReader();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    void reader.cancel().catch(() => {});
  }, deadlineMs);
  const late = () => new ApiError(408, "Timeout", `the join request's body did not arrive within ${deadlineMs / 1000}s`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) throw tooLarge(limit);
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    if (expired) throw late();
    throw badRequest(`unable to read the join request: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
    void reader.cancel().catch(() => {});
  }
  // A cancelled read ends like a finished body: the flag tells them apart.
  if (expired) throw late();
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks, size));
  } catch {
    throw badRequest("the join request is not UTF-8");
  }
}

/** A Status answer; 413 and 429 also close the connection (an unread body is not drained) and say when to retry. */
function refusal(e: ApiError): Response {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (e.details?.retryAfterSeconds !== undefined) headers["retry-after"] = String(e.details.retryAfterSeconds);
  if (e.code === 413 || e.code === 408) headers.connection = "close";
  return new Response(JSON.stringify(e.toStatus()), { status: e.code, headers });
}

export function joinRoutes(o: JoinRouteOptions) {
  const limiter = new JoinLimiter(o.limits ?? DEFAULT_JOIN_LIMITS);
  return (app: Hono<any>, ctx: ApiContext) => {
    app.get(JOIN_CA_PATH, () => new Response(o.caCertPem, { headers: { "content-type": "application/x-pem-file" } }));
    app.post(JOIN_PATH, async (c) => {
      // In-process callers (tests) have no socket; they share one slot-keeping source.
      const server = c.env?.server as Server<unknown> | undefined;
      const source = server?.requestIP(c.req.raw)?.address ?? "in-process";
      let release: (() => void) | undefined;
      try {
        release = limiter.admit(source);
        const text = await readJoinBody(c.req.raw);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw badRequest("the join request is not JSON");
        }
        return Response.json(await exchangeToken(ctx, parseJoinRequest(body), o.log, o.serverToken));
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        if (e.code === 401) limiter.failed(source);
        return refusal(e);
      } finally {
        release?.();
      }
    });
  };
}
