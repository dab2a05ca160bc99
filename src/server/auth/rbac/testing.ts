// For tests: an RbacIndex holding the bootstrap policy as a running server has it (admin, edit
// and view with their aggregated rules), plus the given roles and bindings.
import type { ClusterRole, Role, RoleBinding } from "../../../api/resources/rbac/rbac";
import { aggregatedRules } from "../../controllers/clusterroleaggregation/index";
import { BOOTSTRAP_CLUSTER_ROLE_BINDINGS, BOOTSTRAP_CLUSTER_ROLES } from "./bootstrap";
import { RbacIndex, type RbacKind } from "./index";

/** Aggregation resolved to a fixed point, as the controller reaches it (view → edit → admin). */
export function aggregateAll(roles: ClusterRole[]): ClusterRole[] {
  const out = roles.map((r) => structuredClone(r));
  for (let changed = true; changed; ) {
    changed = false;
    for (const r of out) {
      const rules = aggregatedRules(r, out);
      if (rules && JSON.stringify(rules) !== JSON.stringify(r.rules ?? [])) {
        r.rules = rules;
        changed = true;
      }
    }
  }
  return out;
}

export function bootstrapIndex(...objects: [RbacKind, Role | ClusterRole | RoleBinding][]): RbacIndex {
  const index = new RbacIndex();
  for (const r of aggregateAll(BOOTSTRAP_CLUSTER_ROLES)) index.put("ClusterRole", r);
  for (const b of BOOTSTRAP_CLUSTER_ROLE_BINDINGS) index.put("ClusterRoleBinding", b);
  for (const [kind, o] of objects) index.put(kind, o);
  return index;
}

export const roleBinding = (namespace: string, name: string, role: string, subjects: RoleBinding["subjects"], roleKind = "ClusterRole"): RoleBinding => ({
  metadata: { namespace, name },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: roleKind, name: role },
  subjects,
});
