// The roles and bindings every cluster has, as upstream's bootstrap policy: created at server
// start and reconciled on every start while they carry rbac.authorization.kubernetes.io/autoupdate
// "true" (missing rules and subjects are added back; extra ones an admin added stay). Set the
// annotation to "false" to keep a changed copy as it is.
//
// - cluster-admin: everything; bound to the group system:masters.
// - admin, edit, view: aggregated (their rules are collected by the clusterrole-aggregation
//   controller from ClusterRoles labelled rbac.authorization.k8s.io/aggregate-to-<role>=true);
//   system:aggregate-to-{admin,edit,view} hold the built-in part. Not bound: grant them with a
//   RoleBinding (or ClusterRoleBinding).
// - system:basic-user (self reviews), system:discovery (API discovery paths): bound to
//   system:authenticated; system:public-info-viewer (health, version): bound to
//   system:authenticated and system:unauthenticated; system:monitoring (/metrics and health):
//   bound to the group system:monitoring.
// bramble's own components need nothing more: the control loops run as system:masters, agents
// as nodes (the Node authorizer).
import type { ClusterRole, ClusterRoleBinding, PolicyRule } from "../../../api/resources/rbac/rbac";
import { RBAC_GROUP } from "../../../api/resources/rbac/rbac";
import type { ResourceDef } from "../../../api/resource";
import type { Objects } from "../../apiserver/objects/objects";
import { aggregateAll } from "../../controllers/clusterroleaggregation/index";

export const AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate";
const AGGREGATE = (role: string) => `rbac.authorization.k8s.io/aggregate-to-${role}`;

const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];
const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({ verbs, apiGroups, resources });
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ verbs, nonResourceURLs });

const meta = (name: string, labels: Record<string, string> = {}) => ({
  name,
  labels: { "kubernetes.io/bootstrapping": "rbac-defaults", ...labels },
  annotations: { [AUTOUPDATE]: "true" },
});

const clusterRole = (name: string, rules: PolicyRule[], labels?: Record<string, string>, aggregateFrom?: string): ClusterRole => ({
  apiVersion: `${RBAC_GROUP}/v1`,
  kind: "ClusterRole",
  metadata: meta(name, labels),
  ...(aggregateFrom ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [AGGREGATE(aggregateFrom)]: "true" } }] } } : {}),
  rules,
});

const bindGroups = (name: string, role: string, groups: string[]): ClusterRoleBinding => ({
  apiVersion: `${RBAC_GROUP}/v1`,
  kind: "ClusterRoleBinding",
  metadata: meta(name),
  roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: role },
  subjects: groups.map((g) => ({ kind: "Group", apiGroup: RBAC_GROUP, name: g })),
});

/** What `view` grants: reading everything in a namespace except Secrets (they are credentials). */
const VIEW_RULES: PolicyRule[] = [
  rule(READ, [""], [
    "configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods", "replicationcontrollers", "replicationcontrollers/scale",
    "serviceaccounts", "services", "services/status",
  ]),
  rule(READ, [""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status", "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"]),
  rule(READ, [""], ["namespaces"]),
  rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
  rule(READ, ["apps"], [
    "controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status", "replicasets", "replicasets/scale",
    "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status",
  ]),
  rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
  rule(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
  rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
  rule(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
];

/** What `edit` adds: writing those, reading and writing Secrets, exec and friends; not roles or bindings. */
const EDIT_RULES: PolicyRule[] = [
  rule(["impersonate"], [""], ["serviceaccounts"]),
  rule(WRITE, [""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
  rule(["create"], [""], ["pods/eviction"]),
  rule(WRITE, [""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers", "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"]),
  rule(["create"], [""], ["serviceaccounts/token"]),
  rule(WRITE, ["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale"]),
  rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
  rule(WRITE, ["batch"], ["cronjobs", "jobs"]),
  rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
  rule(WRITE, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
  rule(READ, [""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"]),
];

/** What `admin` adds: roles and bindings of its namespace, and local access reviews. */
const ADMIN_RULES: PolicyRule[] = [
  rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
  rule([...READ, ...WRITE], [RBAC_GROUP], ["rolebindings", "roles"]),
];

export const BOOTSTRAP_CLUSTER_ROLES: ClusterRole[] = [
  clusterRole("cluster-admin", [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])]),
  clusterRole("admin", [], {}, "admin"),
  clusterRole("edit", [], { [AGGREGATE("admin")]: "true" }, "edit"),
  clusterRole("view", [], { [AGGREGATE("edit")]: "true" }, "view"),
  clusterRole("system:aggregate-to-admin", ADMIN_RULES, { [AGGREGATE("admin")]: "true" }),
  clusterRole("system:aggregate-to-edit", EDIT_RULES, { [AGGREGATE("edit")]: "true" }),
  clusterRole("system:aggregate-to-view", VIEW_RULES, { [AGGREGATE("view")]: "true" }),
  // metrics.k8s.io is served by bramble itself; the role metrics-server installs, under its name.
  clusterRole("system:aggregated-metrics-reader", [rule(["get", "list", "watch"], ["metrics.k8s.io"], ["pods", "nodes"])], {
    [AGGREGATE("view")]: "true",
    [AGGREGATE("edit")]: "true",
    [AGGREGATE("admin")]: "true",
  }),
  clusterRole("system:basic-user", [
    rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
    rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
  ]),
  clusterRole("system:discovery", [urls(["get"], ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"])]),
  clusterRole("system:public-info-viewer", [urls(["get"], ["/healthz", "/livez", "/readyz", "/version", "/version/"])]),
  // Prometheus scrapers: put their user in the group system:monitoring (or bind this role).
  clusterRole("system:monitoring", [urls(["get"], ["/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics", "/metrics/slis", "/readyz", "/readyz/*"])]),
];

export const BOOTSTRAP_CLUSTER_ROLE_BINDINGS: ClusterRoleBinding[] = [
  bindGroups("cluster-admin", "cluster-admin", ["system:masters"]),
  bindGroups("system:basic-user", "system:basic-user", ["system:authenticated"]),
  bindGroups("system:discovery", "system:discovery", ["system:authenticated"]),
  bindGroups("system:public-info-viewer", "system:public-info-viewer", ["system:authenticated", "system:unauthenticated"]),
  bindGroups("system:monitoring", "system:monitoring", ["system:monitoring"]),
];

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * What reconciling `existing` with the bootstrap `wanted` writes, or undefined when nothing is
 * to be done: a missing object is created; one whose autoupdate annotation is not "false" gets
 * back missing rules, subjects, labels and annotations (and its aggregationRule).
 */
export function reconcileBootstrapObject<T extends ClusterRole | ClusterRoleBinding>(wanted: T, existing: T | undefined): T | undefined {
  if (!existing) return structuredClone(wanted);
  if (existing.metadata.annotations?.[AUTOUPDATE] === "false") return undefined;
  const next = structuredClone(existing) as T & ClusterRole & ClusterRoleBinding;
  const w = wanted as T & ClusterRole & ClusterRoleBinding;
  next.metadata.labels = { ...w.metadata.labels, ...existing.metadata.labels };
  next.metadata.annotations = { ...existing.metadata.annotations, ...w.metadata.annotations };
  if (w.roleRef) {
    for (const s of w.subjects ?? []) if (!next.subjects?.some((t) => same(t, s))) (next.subjects ??= []).push(s);
  } else if (w.aggregationRule) {
    // The aggregation controller owns the rules of an aggregated role.
    next.aggregationRule = w.aggregationRule;
  } else {
    for (const r of w.rules ?? []) if (!next.rules?.some((t) => same(t, r))) (next.rules ??= []).push(r);
  }
  return same(next, existing) ? undefined : next;
}

/** Creates the bootstrap policy, or reconciles it with what is stored; run at every start. */
export async function ensureBootstrapPolicy(objects: Objects, find: (group: string, plural: string) => ResourceDef): Promise<void> {
  const sets: [ResourceDef, (ClusterRole | ClusterRoleBinding)[]][] = [
    [find(RBAC_GROUP, "clusterroles"), BOOTSTRAP_CLUSTER_ROLES],
    [find(RBAC_GROUP, "clusterrolebindings"), BOOTSTRAP_CLUSTER_ROLE_BINDINGS],
  ];
  // A new aggregated role starts with what it aggregates from the bootstrap roles, so `view` works
  // the moment the server answers; the aggregation controller keeps it current from then on.
  const aggregated = new Map(aggregateAll(BOOTSTRAP_CLUSTER_ROLES).map((r) => [r.metadata.name!, r.rules]));
  for (const [def, wanted] of sets) {
    for (const w of wanted) {
      const existing = objects.tryGet(def, undefined, w.metadata.name!) as ClusterRole | undefined;
      const next = reconcileBootstrapObject(w, existing);
      if (next && !existing && (next as ClusterRole).aggregationRule) (next as ClusterRole).rules = aggregated.get(w.metadata.name!) ?? [];
      if (!next) continue;
      if (existing) await objects.update(def, undefined, w.metadata.name!, next);
      else await objects.create(def, undefined, next);
    }
  }
}
