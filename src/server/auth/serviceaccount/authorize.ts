// What a service account may do. bramble has no RBAC, so instead of roles and bindings every
// service account gets one fixed grant (docs/service-accounts.md says why): what upstream's
// `view` ClusterRole, bound in the account's own namespace, allows — get, list and watch of the
// objects in that namespace except Secrets (they hold credentials), the read-only
// subresources (status, scale, log), and its Namespace object. Nothing cluster-wide, no writes,
// no exec. Discovery (/api, /apis, /version, /openapi) is open to every authenticated user, as
// upstream's system:discovery role makes it.
import type { Decision, RequestAttributes } from "../authorizer";

const READ = new Set(["get", "list", "watch"]);
const READABLE_SUBRESOURCES = new Set(["status", "scale", "log"]);
const HIDDEN = new Set(["/secrets"]);

export function authorizeServiceAccount(account: { namespace: string; name: string }, a: RequestAttributes): Decision {
  if (!READ.has(a.verb)) return { allowed: false };
  if (a.subresource !== undefined && !(READABLE_SUBRESOURCES.has(a.subresource) && a.verb === "get")) return { allowed: false };
  // Its own Namespace object, by name (a RoleBinding grants the same upstream).
  if (a.group === "" && a.resource === "namespaces") return { allowed: a.verb === "get" && a.name === account.namespace && a.subresource === undefined };
  if (a.namespace !== account.namespace || HIDDEN.has(`${a.group}/${a.resource}`)) return { allowed: false };
  return { allowed: true };
}
