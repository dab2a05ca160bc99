// pods/proxy, services/proxy and nodes/proxy: `/api/v1/namespaces/NS/services/web:80/proxy/PATH`
// reaches PATH on the Service's backend (a pod), `…/pods/NAME:PORT/proxy/PATH` the pod itself and
// `/api/v1/nodes/NAME/proxy/PATH` the node's agent. The API server dials pod IPs itself, as
// kube-apiserver does, so it needs a route to the pod network (a server node has one; see
// docs/security.md for who may proxy).
import type { Server } from "bun";
import { methodNotAllowed, pathNotFound } from "../../../api/errors";
import type { ResourceDef } from "../../../api/resource";
import type { ApiContext } from "../handlers/context";
import { forwardHttp } from "./http-proxy";
import { splitProxyPath } from "./proxy-path";
import { nodeLocation, podLocation, serviceLocation } from "./proxy-target";
import type { KubeletTokenSigner } from "./signer";
import { forwardWebSocket, isWebSocketUpgrade } from "./websocket-proxy";

/** What upstream's connect handler for proxy accepts. */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

export function proxySubresource(ctx: ApiContext, sign: KubeletTokenSigner, req: Request, server: Server<unknown> | undefined, url: URL, def: ResourceDef, namespace: string | undefined, name: string): Response | Promise<Response> {
  if (!METHODS.has(req.method)) throw methodNotAllowed(`the server does not allow this method on the requested resource (${req.method} ${url.pathname})`);
  const split = splitProxyPath(url.pathname, def, namespace !== undefined);
  if (!split) throw pathNotFound(url.pathname);
  // As upstream: the bare …/proxy is the backend's root, so a browser is sent to …/proxy/ and
  // relative links on the page resolve under it.
  if (split.rest === undefined && (req.method === "GET" || req.method === "HEAD")) {
    return new Response(null, { status: 301, headers: { location: `${url.pathname}/${url.search}` } });
  }
  const location = def.plural === "pods" ? podLocation(ctx, namespace!, name) : def.plural === "services" ? serviceLocation(ctx, namespace!, name) : nodeLocation(ctx, name);
  const p = { location, path: split.rest ?? "/", pathPrepend: split.prepend, sign };
  return isWebSocketUpgrade(req) ? forwardWebSocket(req, url, server, p) : forwardHttp(req, url, server, p);
}
