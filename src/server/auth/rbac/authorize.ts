// The RBAC authorizer: a request is allowed when a binding of the user (by name, or by one of
// its groups) grants a role with a rule covering it. A RoleBinding grants its role in its own
// namespace only; a ClusterRoleBinding everywhere, and for non-resource URLs. Members of
// system:masters may do anything (upstream's privileged group), bindings or not.
import type { UserInfo } from "../authenticator";
import type { RbacIndex } from "./index";
import { ruleAllows, type RbacRequest } from "./rules";

export const PRIVILEGED_GROUP = "system:masters";

export function rbacAllows(index: RbacIndex, user: UserInfo, r: RbacRequest): boolean {
  if (user.groups.includes(PRIVILEGED_GROUP)) return true;
  const namespace = r.path === undefined ? r.namespace : undefined;
  for (const b of index.bindingsOf(user)) {
    // A RoleBinding applies to requests in its namespace; never to non-resource URLs.
    if (b.namespace !== undefined && (r.path !== undefined || b.namespace !== namespace)) continue;
    const rules = index.rulesOf(b);
    if (rules) for (const rule of rules) if (ruleAllows(rule, r)) return true;
  }
  return false;
}
