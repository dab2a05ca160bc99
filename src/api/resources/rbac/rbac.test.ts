import { describe, expect, test } from "bun:test";
import { clusterRoleBindings, clusterRoles, roleBindings, roles, type ClusterRole, type Role, type RoleBinding } from "./rbac";

const meta = (name: string, namespace?: string) => ({ name, ...(namespace ? { namespace } : {}), creationTimestamp: "2024-05-01T11:00:00Z" });
const fields = (errs: { field: string; message: string }[]) => errs.map((e) => `${e.field}: ${e.message}`);

describe("roles", () => {
  test("rules need verbs, and api groups and resources unless they name non-resource URLs", () => {
    const r: Role = { metadata: meta("r", "d"), rules: [{ verbs: [] }, { verbs: ["get"], nonResourceURLs: ["/healthz"] }, { verbs: ["get"], apiGroups: [""], resources: ["pods"] }] };
    expect(fields(roles.validate(r))).toEqual([
      "rules[0].verbs: Required value: verbs must contain at least one value",
      "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
      "rules[0].resources: Required value: resource rules must supply at least one resource",
      `rules[1].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot apply to non-resource URLs`,
    ]);
    const cr: ClusterRole = { metadata: meta("c"), rules: [{ verbs: ["get"], nonResourceURLs: ["/healthz"], resources: ["pods"] }], aggregationRule: {} };
    expect(fields(clusterRoles.validate(cr))).toEqual([
      `rules[0].nonResourceURLs: Invalid value: ["/healthz"]: rules cannot apply to both regular resources and non-resource URLs`,
      "aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil",
    ]);
    expect(clusterRoles.validate({ metadata: meta("c"), rules: [{ verbs: ["get"], nonResourceURLs: ["/healthz"] }] })).toEqual([]);
  });

  test("names are path segments; table NAME, CREATED AT", () => {
    expect(roles.nameValidator!("system:controller:x")).toEqual([]);
    expect(roles.nameValidator!("a/b")).toEqual(["may not contain '/'"]);
    expect(roles.nameValidator!("..")).toEqual(["may not be '..'"]);
    expect(roles.table.row({ metadata: meta("r", "d") }, new Date())).toEqual(["r", "2024-05-01T11:00:00Z"]);
  });
});

describe("bindings", () => {
  const binding = (b: Partial<RoleBinding>): RoleBinding => ({ metadata: meta("b", "d"), roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" }, ...b });

  test("subjects are defaulted and validated as upstream", () => {
    const b = binding({ roleRef: { apiGroup: "", kind: "Role", name: "r" }, subjects: [{ kind: "User", name: "alice" }, { kind: "ServiceAccount", name: "default", namespace: "d" }] });
    roleBindings.defaults(b);
    expect(b.roleRef!.apiGroup).toBe("rbac.authorization.k8s.io");
    expect(b.subjects!.map((s) => s.apiGroup)).toEqual(["rbac.authorization.k8s.io", ""]);
    expect(roleBindings.validate(b)).toEqual([]);

    const bad = binding({ subjects: [{ kind: "Robot", name: "r" }, { kind: "ServiceAccount", name: "sa" }, { kind: "User", apiGroup: "x", name: "" }] });
    expect(fields(roleBindings.validate(bad))).toEqual([
      'subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
      'subjects[2].name: Required value',
      'subjects[2].apiGroup: Unsupported value: "x": supported values: "rbac.authorization.k8s.io"',
    ]);
    // A ClusterRoleBinding's service accounts must say their namespace, and its role is a ClusterRole.
    const crb = binding({ metadata: meta("b"), roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "r" }, subjects: [{ kind: "ServiceAccount", apiGroup: "", name: "sa" }] });
    expect(fields(clusterRoleBindings.validate(crb))).toEqual(['roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"', "subjects[0].namespace: Required value"]);
  });

  test("roleRef may not change", () => {
    const old = binding({});
    expect(roleBindings.immutable!(binding({ subjects: [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "g" }] }), old)).toEqual([]);
    const errs = roleBindings.immutable!(binding({ roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" } }), old);
    expect(errs.map((e) => [e.field, e.message.endsWith(": cannot change roleRef")])).toEqual([["roleRef", true]]);
  });

  test("table: ROLE as kind/name, wide columns list each kind of subject", () => {
    const b = binding({
      subjects: [
        { kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "alice" },
        { kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "bob" },
        { kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "devs" },
        { kind: "ServiceAccount", apiGroup: "", name: "sa", namespace: "d" },
      ],
    });
    expect(roleBindings.table.row(b, new Date("2024-05-01T11:05:00Z"))).toEqual(["b", "ClusterRole/view", "5m", "alice, bob", "devs", "d/sa"]);
  });
});
