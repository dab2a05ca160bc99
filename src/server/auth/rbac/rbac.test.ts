import { describe, expect, test } from "bun:test";
import type { ClusterRole } from "../../../api/resources/rbac/rbac";
import { aggregatedRules } from "../../controllers/clusterroleaggregation/index";
import { serviceAccountUser } from "../serviceaccount/claims";
import { rbacAllows } from "./authorize";
import { escalationProblem } from "./escalation";
import { AUTOUPDATE, BOOTSTRAP_CLUSTER_ROLE_BINDINGS, BOOTSTRAP_CLUSTER_ROLES, reconcileBootstrapObject } from "./bootstrap";
import { RbacIndex } from "./index";
import { ruleAllows, type RbacRequest } from "./rules";
import { bootstrapIndex, roleBinding } from "./testing";

const req = (r: Partial<Extract<RbacRequest, { group: string }>>): RbacRequest => ({ verb: "get", group: "", resource: "pods", namespace: "d", ...r });
const alice = { user: "alice", groups: ["devs", "system:authenticated"] };

describe("rule matching", () => {
  test("verbs, groups and resources with *; subresources; resource names", () => {
    const r = { verbs: ["get", "list"], apiGroups: [""], resources: ["pods", "pods/log", "*/scale"] };
    expect(ruleAllows(r, req({}))).toBe(true);
    expect(ruleAllows(r, req({ verb: "watch" }))).toBe(false);
    expect(ruleAllows(r, req({ group: "apps" }))).toBe(false);
    expect(ruleAllows(r, req({ subresource: "log" }))).toBe(true);
    expect(ruleAllows(r, req({ subresource: "exec" }))).toBe(false);
    expect(ruleAllows(r, req({ group: "", resource: "replicationcontrollers", subresource: "scale" }))).toBe(true);
    // `pods` covers the pods, not their subresources.
    expect(ruleAllows({ verbs: ["*"], apiGroups: ["*"], resources: ["pods"] }, req({ subresource: "status" }))).toBe(false);
    expect(ruleAllows({ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }, req({ group: "apps", resource: "deployments", subresource: "scale", verb: "patch" }))).toBe(true);
    const named = { verbs: ["get", "list"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["cfg"] };
    expect(ruleAllows(named, req({ resource: "configmaps", name: "cfg" }))).toBe(true);
    expect(ruleAllows(named, req({ resource: "configmaps", name: "other" }))).toBe(false);
    expect(ruleAllows(named, req({ resource: "configmaps", verb: "list" }))).toBe(false);
  });

  test("non-resource URLs: exact, or a prefix ending in *", () => {
    const r = { verbs: ["get"], nonResourceURLs: ["/healthz", "/apis/*"] };
    expect(ruleAllows(r, { verb: "get", path: "/healthz" })).toBe(true);
    expect(ruleAllows(r, { verb: "get", path: "/healthz/etcd" })).toBe(false);
    expect(ruleAllows(r, { verb: "get", path: "/apis/apps/v1" })).toBe(true);
    expect(ruleAllows(r, { verb: "post", path: "/apis/apps" })).toBe(false);
    // A resource rule never covers a path, nor a path rule a resource.
    expect(ruleAllows({ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }, { verb: "get", path: "/healthz" })).toBe(false);
    expect(ruleAllows({ verbs: ["*"], nonResourceURLs: ["*"] }, req({}))).toBe(false);
  });
});

describe("index and authorizer", () => {
  test("bindings by user, group and service account; RoleBindings only in their namespace", () => {
    const index = bootstrapIndex(
      ["Role", { metadata: { namespace: "d", name: "cm-reader" }, rules: [{ verbs: ["get"], apiGroups: [""], resources: ["configmaps"] }] }],
      ["RoleBinding", roleBinding("d", "r1", "cm-reader", [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "alice" }], "Role")],
      ["RoleBinding", roleBinding("d", "r2", "edit", [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "devs" }])],
      // A RoleBinding's service account without a namespace is one of the binding's namespace.
      ["RoleBinding", roleBinding("d", "r3", "view", [{ kind: "ServiceAccount", apiGroup: "", name: "bot" }])],
    );
    expect(rbacAllows(index, alice, req({ resource: "configmaps", name: "c" }))).toBe(true);
    expect(rbacAllows(index, alice, req({ resource: "configmaps", name: "c", namespace: "e" }))).toBe(false);
    expect(rbacAllows(index, alice, req({ verb: "delete", name: "p" }))).toBe(true);
    expect(rbacAllows(index, alice, req({ verb: "create", group: "rbac.authorization.k8s.io", resource: "roles" }))).toBe(false);
    expect(rbacAllows(index, { user: "bob", groups: ["system:authenticated"] }, req({}))).toBe(false);
    const bot = serviceAccountUser("d", "bot");
    expect(rbacAllows(index, bot, req({ verb: "list" }))).toBe(true);
    expect(rbacAllows(index, bot, req({ verb: "list", resource: "secrets" }))).toBe(false);
    expect(rbacAllows(index, serviceAccountUser("e", "bot"), req({ verb: "list", namespace: "e" }))).toBe(false);
    // Discovery and self reviews for everyone authenticated; everything for system:masters.
    expect(rbacAllows(index, bot, { verb: "get", path: "/apis/apps/v1" })).toBe(true);
    expect(rbacAllows(index, bot, { verb: "get", path: "/metrics" })).toBe(false);
    expect(rbacAllows(new RbacIndex(), { user: "root", groups: ["system:masters"] }, req({ verb: "delete" }))).toBe(true);
  });

  test("deleting or changing a binding or role takes effect; a binding to a missing role grants nothing", () => {
    const index = new RbacIndex();
    index.put("ClusterRoleBinding", { metadata: { name: "b" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "r" }, subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "alice" }] });
    expect(rbacAllows(index, alice, req({}))).toBe(false);
    index.put("ClusterRole", { metadata: { name: "r" }, rules: [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }] });
    expect(rbacAllows(index, alice, req({}))).toBe(true);
    index.put("ClusterRoleBinding", { metadata: { name: "b" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "r" }, subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "carol" }] });
    expect(rbacAllows(index, alice, req({}))).toBe(false);
    expect(rbacAllows(index, { user: "carol", groups: [] }, req({}))).toBe(true);
    index.delete("ClusterRoleBinding", undefined, "b");
    expect(rbacAllows(index, { user: "carol", groups: [] }, req({}))).toBe(false);
  });
});

describe("aggregation and bootstrap", () => {
  const role = (name: string, labels: Record<string, string>, rules: ClusterRole["rules"]): ClusterRole => ({ metadata: { name, labels }, rules });

  test("an aggregating role collects the rules of the roles its selectors match, each once, by name", () => {
    const agg: ClusterRole = { metadata: { name: "agg" }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: "true" } }, { matchLabels: { b: "true" } }] } };
    const r1 = { verbs: ["get"], apiGroups: [""], resources: ["pods"] };
    const r2 = { verbs: ["list"], apiGroups: [""], resources: ["pods"] };
    const all = [agg, role("z", { b: "true" }, [r2, r1]), role("m", { a: "true" }, [r1]), role("other", { c: "true" }, [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }])];
    expect(aggregatedRules(agg, all)).toEqual([r1, r2]);
    expect(aggregatedRules(role("plain", {}, []), all)).toBeUndefined();
  });

  test("view < edit < admin; view reads no Secrets; admin writes roles and bindings", () => {
    const index = bootstrapIndex(
      ["RoleBinding", roleBinding("d", "v", "view", [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "v" }])],
      ["RoleBinding", roleBinding("d", "e", "edit", [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "e" }])],
      ["RoleBinding", roleBinding("d", "a", "admin", [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "a" }])],
    );
    const can = (user: string, r: RbacRequest) => rbacAllows(index, { user, groups: ["system:authenticated"] }, r);
    expect([can("v", req({ verb: "list" })), can("e", req({ verb: "list" })), can("a", req({ verb: "list" }))]).toEqual([true, true, true]);
    expect([can("v", req({ resource: "secrets", name: "s" })), can("e", req({ resource: "secrets", name: "s" }))]).toEqual([false, true]);
    expect([can("v", req({ verb: "create", subresource: "exec", name: "p" })), can("e", req({ verb: "create", subresource: "exec", name: "p" }))]).toEqual([false, true]);
    const roles = req({ verb: "create", group: "rbac.authorization.k8s.io", resource: "rolebindings" });
    expect([can("e", roles), can("a", roles)]).toEqual([false, true]);
  });

  test("reconciling: missing objects are made, missing rules and subjects added back, autoupdate=false left alone", () => {
    const discovery = BOOTSTRAP_CLUSTER_ROLES.find((r) => r.metadata.name === "system:discovery")!;
    expect(reconcileBootstrapObject(discovery, undefined)).toEqual(discovery);
    expect(reconcileBootstrapObject(discovery, structuredClone(discovery))).toBeUndefined();
    const extra = { verbs: ["get"], nonResourceURLs: ["/metrics"] };
    const edited = { ...structuredClone(discovery), rules: [extra] };
    expect(reconcileBootstrapObject(discovery, edited)?.rules).toEqual([extra, ...discovery.rules!]);
    const pinned = { ...edited, metadata: { ...edited.metadata, annotations: { [AUTOUPDATE]: "false" } } };
    expect(reconcileBootstrapObject(discovery, pinned)).toBeUndefined();
    const basic = BOOTSTRAP_CLUSTER_ROLE_BINDINGS.find((b) => b.metadata.name === "system:basic-user")!;
    expect(reconcileBootstrapObject(basic, { ...structuredClone(basic), subjects: [] })?.subjects).toEqual(basic.subjects);
  });
});

describe("escalation", () => {
  const editorIn = (ns: string) =>
    bootstrapIndex(
      ["RoleBinding", roleBinding(ns, "e", "edit", [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "alice" }])],
      ["RoleBinding", roleBinding(ns, "rb", "rb-writer", [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "alice" }])],
      ["ClusterRole", { metadata: { name: "rb-writer" }, rules: [{ verbs: ["create", "update", "get"], apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles", "rolebindings"] }] }],
    );
  const role = (ns: string, rules: ClusterRole["rules"]) => ({ metadata: { namespace: ns, name: "r" }, rules });

  test("a role may hold only what its writer holds there", () => {
    const index = editorIn("d");
    expect(escalationProblem(index, alice, "Role", role("d", [{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods", "pods/log"] }]), undefined)).toBeUndefined();
    expect(escalationProblem(index, alice, "Role", role("e", [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }]), undefined)).toBe(
      'user "alice" (groups=["devs" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["pods"], Verbs:["get"]}',
    );
    expect(escalationProblem(index, alice, "Role", role("d", [{ verbs: ["get", "delete"], apiGroups: ["", "apps"], resources: ["nodes", "pods"] }]), undefined)).toBe(
      'user "alice" (groups=["devs" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get" "delete"]}\n{APIGroups:["apps"], Resources:["nodes"], Verbs:["get" "delete"]}\n{APIGroups:["apps"], Resources:["pods"], Verbs:["get" "delete"]}',
    );
    // `*` is covered only by `*`.
    expect(escalationProblem(index, alice, "Role", role("d", [{ verbs: ["*"], apiGroups: [""], resources: ["pods"] }]), undefined)).toContain('Verbs:["*"]');
    // A change of ownerReferences alone is not judged.
    const big = role("d", [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }]);
    expect(escalationProblem(index, alice, "Role", { ...big, metadata: { ...big.metadata, ownerReferences: [] } }, big)).toBeUndefined();
  });

  test("a binding needs the referenced role's permissions, or bind on it; escalate lifts the role check", () => {
    const index = editorIn("d");
    const bind = (role: string, ns = "d") => roleBinding(ns, "b", role, [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "bob" }]);
    expect(escalationProblem(index, alice, "RoleBinding", bind("view"), undefined)).toBeUndefined();
    expect(escalationProblem(index, alice, "RoleBinding", bind("admin"), undefined)).toContain("is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"authorization.k8s.io\"], Resources:[\"localsubjectaccessreviews\"], Verbs:[\"create\"]}");
    expect(escalationProblem(index, alice, "RoleBinding", bind("nope"), undefined)).toBe('clusterroles.rbac.authorization.k8s.io "nope" not found');
    index.put("ClusterRole", { metadata: { name: "binder" }, rules: [{ verbs: ["bind"], apiGroups: ["rbac.authorization.k8s.io"], resources: ["clusterroles"], resourceNames: ["admin"] }, { verbs: ["escalate"], apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles"] }] });
    index.put("ClusterRoleBinding", { metadata: { name: "binder" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "binder" }, subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "alice" }] });
    expect(escalationProblem(index, alice, "RoleBinding", bind("admin"), undefined)).toBeUndefined();
    expect(escalationProblem(index, alice, "Role", role("e", [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }]), undefined)).toBeUndefined();
    expect(escalationProblem(index, alice, "ClusterRole", { metadata: { name: "agg" }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: "b" } }] } }, undefined)).toBe("must have cluster-admin privileges to use the aggregationRule");
    expect(escalationProblem(index, { user: "root", groups: ["system:masters"] }, "ClusterRoleBinding", bind("cluster-admin"), undefined)).toBeUndefined();
  });
});
