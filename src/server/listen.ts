// The HTTPS listener. Only HTTPS: the admin token travels in every request.

import type { Server, WebSocketHandler } from "bun";
import { internal } from "../api/errors";
import type { Logger } from "../machinery/log";

/**
 * Bun's own ceiling, far above the API's 3 MiB limit on purpose: Bun rejects a body over this
 * with a bare 413 before any handler runs, while the API server checks Content-Length first
 * and stops reading at its limit, answering with a RequestEntityTooLarge Status as upstream does.
 * So this only bounds what a client can make Bun look at, never what is buffered.
 */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024 * 1024;

export interface ListenOptions {
  hostname: string;
  port: number;
  cert: string;
  key: string;
  fetch(req: Request, server: Server<any>): Response | Promise<Response | undefined> | undefined;
  websocket?: WebSocketHandler<any>;
  log: Logger;
}

export function listenHttps(o: ListenOptions): Server<any> {
  try {
    return Bun.serve({
      hostname: o.hostname,
      port: o.port,
      tls: { cert: o.cert, key: o.key },
      maxRequestBodySize: MAX_REQUEST_BODY_BYTES,
      fetch: o.fetch as (req: Request, server: Server<any>) => Response | Promise<Response>,
      ...(o.websocket ? { websocket: o.websocket } : {}),
      // A bug in a handler must still answer with a Status, never with Bun's HTML error page.
      error(e) {
        o.log.error("unhandled error in request", { err: e });
        return Response.json(internal("an internal error occurred").toStatus(), { status: 500 });
      },
    } as Parameters<typeof Bun.serve>[0]);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const where = `${o.hostname}:${o.port}`;
    if (code === "EADDRINUSE") throw new Error(`--https-listen-port: ${where} is already in use (another bramble or k3s running?)`);
    if (code === "EADDRNOTAVAIL") throw new Error(`--bind-address: ${o.hostname} is not an address of this host`);
    if (code === "EACCES") throw new Error(`--https-listen-port: no permission to listen on ${where} (ports below 1024 need root)`);
    throw e;
  }
}
