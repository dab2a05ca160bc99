// Where a proxy request's path splits: `/api/v1/namespaces/NS/services/web:80/proxy` (what link
// rewriting puts in front) and the backend's path after it. Both are decoded and encoded again as
// Go encodes a URL path, since that is what kube-apiserver forwards.
import { badRequest } from "../../../api/errors";
import type { ResourceDef } from "../../../api/resource";

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
export function canonicalPath(raw: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw badRequest(`invalid escape sequence in the request path: ${JSON.stringify(raw)}`);
  }
  return decoded.split("/").map(escapeSegment).join("/");
}

/** The request path split at the /proxy segment: what comes before it, and the backend path after it. */
export function splitProxyPath(pathname: string, def: ResourceDef, namespaced: boolean): { prepend: string; rest: string | undefined } | undefined {
  const parts = pathname.split("/");
  // ["", "api", "v1", ...] or ["", "apis", group, version, ...], then [namespaces, ns,] plural, name, proxy
  const at = (def.group ? 4 : 3) + (namespaced ? 2 : 0) + 2;
  if (parts[at] !== "proxy" || parts[at - 2] !== def.plural) return undefined;
  const prepend = canonicalPath(parts.slice(0, at + 1).join("/"));
  return { prepend, rest: parts.length > at + 1 ? canonicalPath(`/${parts.slice(at + 1).join("/")}`) : undefined };
}

