// From an HTTP request on a resource path to what the authorizer judges: verb, resource,
// namespace, name. Verbs follow kube-apiserver: GET on a name is get, on a collection list (or
// watch with ?watch), DELETE on a collection is deletecollection. As upstream's RequestInfo, a
// list or watch whose field selector pins metadata.name is a request for that name: the
// selector is parsed by the parser the list and watch handlers use, so the name judged here is
// the name those handlers filter on.
import { boolQueryParam } from "../../api/bool-param";
import { forbidden } from "../../api/errors";
import type { ResourceDef } from "../../api/resource";
import { parseFieldSelector, type FieldSelector } from "../../api/selectors";
import type { UserInfo } from "./authenticator";
import { forbiddenMessage, type Authorizer, type RequestAttributes, type Verb } from "./authorizer";

export interface ResourceTarget {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Read exactly as the handler reads it, so the verb judged is the one served. */
const isWatch = (url: URL) => boolQueryParam(url.searchParams, "watch");

export function verbOf(method: string, url: URL, named: boolean): Verb {
  switch (method) {
    case "GET":
    case "HEAD":
      return isWatch(url) ? "watch" : named ? "get" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return named ? "delete" : "deletecollection";
    default:
      return "get";
  }
}

/** A selector that does not parse selects nothing here; the handler answers it with a 400. */
function requestFieldSelector(url: URL): FieldSelector | undefined {
  const raw = url.searchParams.get("fieldSelector");
  if (raw === null) return undefined;
  try {
    return parseFieldSelector(raw);
  } catch {
    return undefined;
  }
}

/** Upstream's path.IsValidPathSegmentName: a name that could have been a path segment. */
const isPathSegmentName = (name: string) => name !== "." && name !== ".." && !name.includes("/") && !name.includes("%");

export function requestAttributes(req: Request, url: URL, t: ResourceTarget): RequestAttributes {
  // POST to a subresource (binding, eviction) names the parent: it is a create of the subresource.
  // A proxy's query belongs to the backend: ?watch there is not a watch of the subresource.
  const proxyRead = t.subresource === "proxy" && (req.method === "GET" || req.method === "HEAD");
  const verb = proxyRead ? "get" : verbOf(req.method, url, t.name !== undefined && !(req.method === "POST" && !t.subresource));
  const fieldSelector = requestFieldSelector(url);
  let name = t.name;
  if (name === undefined && (verb === "list" || verb === "watch")) {
    const selected = fieldSelector?.exactMatch("metadata.name");
    if (selected && isPathSegmentName(selected)) name = selected;
  }
  return {
    verb,
    group: t.def.group,
    resource: t.def.plural,
    subresource: t.subresource,
    // As upstream's RequestInfo, a Namespace object is in itself: a RoleBinding there grants it.
    namespace: t.def.group === "" && t.def.plural === "namespaces" && t.name !== undefined ? t.name : t.namespace,
    name,
    fieldSelector,
    contentType: req.headers.get("content-type") ?? undefined,
    // A clone, so the handler can still read the body; only some writes (nodes, leases, tokens) ask.
    body: () => req.clone().json().catch(() => undefined),
    bodyName: () =>
      req
        .clone()
        .json()
        .then((b) => {
          const name = (b as { metadata?: { name?: unknown } } | null)?.metadata?.name;
          return typeof name === "string" ? name : undefined;
        })
        .catch(() => undefined),
  };
}

/** Throws a 403 Status unless `authorize` allows the request. */
export async function checkAccess(authorize: Authorizer, user: UserInfo, req: Request, url: URL, t: ResourceTarget): Promise<void> {
  const attrs = requestAttributes(req, url, t);
  const d = await authorize(user, attrs);
  if (!d.allowed) throw forbidden(forbiddenMessage(user, attrs, d.reason));
}
