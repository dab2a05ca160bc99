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
import { nodeLocation, podLocation, serviceLocation } from "./proxy-target";
import type { KubeletTokenSigner } from "./signer";
import { forwardWebSocket, isWebSocketUpgrade } from "./websocket-proxy";

/** What upstream's connect handler for proxy accepts. */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
export const PROXY_RESOURCES = new Set(["pods", "services", "nodes"]);

/** Go's url.PathEscape rules for a path (encodePath): what a decoded path looks like re-encoded. */
const GO_PATH_KEEPS: Record<string, string> = { "%24": "$", "%26": "&", "%2B": "+", "%2C": ",", "%3A": ":", "%3B": ";", "%3D": "=", "%40": "@" };
const escapeSegment = (s: string) =>
  encodeURIComponent(s)
    .replace(/%(24|26|2B|2C|3A|3B|3D|40)/g, (m) => GO_PATH_KEEPS[m]!)
    .replace(/[!*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
/**
 * As upstream: the path is decoded (the request parser has checked its escapes), then encoded
 * again the way Go encodes a URL path, so `cgi-bin%2Fecho` (the Python client's spelling) reaches
 * the backend as `cgi-bin/echo`, and `web%3A80` is the same proxy path as `web:80`.
 */
const canonicalPath = (raw: string) => decodeURIComponent(raw).split("/").map(escapeSegment).join("/");

/** The request path split at the /proxy segment: what comes before it, and the backend path after it. */
export function splitProxyPath(pathname: string, def: ResourceDef, namespaced: boolean): { prepend: string; rest: string | undefined } | undefined {
  const parts = pathname.split("/");
  // ["", "api", "v1", ...] or ["", "apis", group, version, ...], then [namespaces, ns,] plural, name, proxy
  const at = (def.group ? 4 : 3) + (namespaced ? 2 : 0) + 2;
  if (parts[at] !== "proxy" || parts[at - 2] !== def.plural) return undefined;
  const prepend = canonicalPath(parts.slice(0, at + 1).join("/"));
  return { prepend, rest: parts.length > at + 1 ? canonicalPath(`/${parts.slice(at + 1).join("/")}`) : undefined };
}

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
