// For tests: an RbacIndex holding the bootstrap policy as a running server has it (admin, edit
// and view with their aggregated rules), plus the given roles and bindings.
import type { ClusterRole, Role, RoleBinding } from "../../../api/resources/rbac/rbac";
import { aggregateAll } from "../../controllers/clusterroleaggregation/index";
import { BOOTSTRAP_CLUSTER_ROLE_BINDINGS, BOOTSTRAP_CLUSTER_ROLES } from "./bootstrap";
import { RbacIndex, type RbacKind } from "./index";

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
