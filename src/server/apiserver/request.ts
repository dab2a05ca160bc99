// Turns a resource path into what it names:
//   /api/v1/namespaces/default/pods/web/status  → core v1 pods, ns default, name web, sub status
//   /apis/apps/v1/deployments                  → apps v1 deployments, all namespaces
import { badRequest, pathNotFound } from "../../api/errors";
import type { ResourceDef } from "../../api/resource";

export interface ResourceRequest {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export type ResourceLookup = (group: string, version: string, plural: string) => ResourceDef | undefined;

export function parseResourcePath(path: string, lookup: ResourceLookup): ResourceRequest {
  const parts = path.split("/").filter(Boolean).map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw badRequest(`invalid escape sequence in the request path: ${JSON.stringify(part)}`);
    }
  });
  let group: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 2) {
    group = "";
    rest = parts.slice(1);
  } else if (parts[0] === "apis" && parts.length >= 3) {
    group = parts[1]!;
    rest = parts.slice(2);
  } else throw pathNotFound(path);
  const version = rest[0]!;
  rest = rest.slice(1);
  if (rest.length === 0) throw pathNotFound(path);

  let namespace: string | undefined;
  // "namespaces/<ns>/<plural>..." scopes a namespaced resource; "namespaces[/<name>[/sub]]" alone
  // is the Namespace resource itself.
  if (rest[0] === "namespaces" && rest.length >= 3 && lookup(group, version, rest[2]!)) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  const def = lookup(group, version, plural!);
  // Only a proxy subresource goes on: the rest of the path is the backend's.
  if (!def || (extra.length && subresource !== "proxy")) throw pathNotFound(path);
  if (namespace !== undefined && !def.namespaced) throw pathNotFound(path);
  if (name === "") throw badRequest("resource name may not be empty");
  if (subresource && !def.subresources.includes(subresource as never)) throw pathNotFound(path);
  return { def, namespace, name, subresource };
}
