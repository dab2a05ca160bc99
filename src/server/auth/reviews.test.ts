import { describe, expect, test } from "bun:test";
import { ApiError } from "../../api/errors";
import type { UserInfo } from "./authenticator";
import { createAuthorizer } from "./authorizer";
import { impersonatedUser } from "./impersonation";
import { bootstrapIndex, roleBinding } from "./rbac/testing";
import { reviewResources } from "./reviews";

const alice: UserInfo = { user: "alice", groups: ["system:authenticated"] };
const admin: UserInfo = { user: "system:admin", groups: ["system:masters", "system:authenticated"] };
const rbac = bootstrapIndex(
  ["RoleBinding", roleBinding("d", "v", "view", [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "alice" }])],
  ["ClusterRole", { metadata: { name: "impersonator" }, rules: [{ verbs: ["impersonate"], apiGroups: [""], resources: ["users"], resourceNames: ["bob"] }] }],
  ["ClusterRoleBinding", { metadata: { name: "impersonator" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "impersonator" }, subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "alice" }] }],
);
const authorize = createAuthorizer({ rbac, getPod: () => undefined, podsOnNode: () => [] });
const reviews = Object.fromEntries(reviewResources({ authorize, rbac, authenticate: () => undefined }).map((r) => [r.identity.kind, r]));
const review = (kind: string, user: UserInfo, body: Record<string, unknown>, ns?: string) => reviews[kind]!.create(user, body, ns) as Promise<{ status: Record<string, unknown> }>;
const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e instanceof ApiError ? `${e.code} ${e.message}` : String(e);
  }
  return "no error";
};

describe("access reviews", () => {
  test("SelfSubjectAccessReview answers for the caller, resources and non-resource URLs", async () => {
    const ask = (spec: object) => review("SelfSubjectAccessReview", alice, { spec }).then((r) => r.status.allowed);
    expect(await ask({ resourceAttributes: { verb: "list", resource: "pods", namespace: "d" } })).toBe(true);
    expect(await ask({ resourceAttributes: { verb: "list", resource: "pods", namespace: "e" } })).toBe(false);
    expect(await ask({ resourceAttributes: { verb: "get", resource: "secrets", namespace: "d", name: "s" } })).toBe(false);
    expect(await ask({ nonResourceAttributes: { verb: "get", path: "/apis" } })).toBe(true);
    expect(await ask({ nonResourceAttributes: { verb: "get", path: "/metrics" } })).toBe(false);
    expect(await refusal(review("SelfSubjectAccessReview", alice, { spec: {} }))).toBe(
      '422 SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
    );
  });

  test("SubjectAccessReview and LocalSubjectAccessReview answer for the user in the spec", async () => {
    const spec = { user: "alice", groups: ["system:authenticated"], resourceAttributes: { verb: "watch", group: "apps", resource: "deployments", namespace: "d" } };
    expect((await review("SubjectAccessReview", admin, { spec })).status.allowed).toBe(true);
    expect((await review("SubjectAccessReview", admin, { spec: { ...spec, user: "bob", groups: [] } })).status.allowed).toBe(false);
    expect(await refusal(review("SubjectAccessReview", admin, { spec: { resourceAttributes: spec.resourceAttributes } }))).toContain("spec.user: Invalid value: \"\": at least one of user or group must be specified");
    expect((await review("LocalSubjectAccessReview", admin, { spec: { ...spec, resourceAttributes: { ...spec.resourceAttributes, namespace: "" } } }, "d")).status.allowed).toBe(true);
    expect(await refusal(review("LocalSubjectAccessReview", admin, { spec }, "e"))).toBe("400 spec.resourceAttributes.namespace must match namespace: e");
  });

  test("SelfSubjectRulesReview lists the rules that apply in the namespace; SelfSubjectReview says who", async () => {
    const rules = (await review("SelfSubjectRulesReview", alice, { spec: { namespace: "d" } })).status as { resourceRules: { resources: string[] }[]; nonResourceRules: { nonResourceURLs: string[] }[]; incomplete: boolean };
    expect(rules.incomplete).toBe(false);
    expect(rules.resourceRules.some((r) => r.resources.includes("pods"))).toBe(true);
    expect(rules.nonResourceRules.some((r) => r.nonResourceURLs.includes("/version"))).toBe(true);
    const elsewhere = (await review("SelfSubjectRulesReview", alice, { spec: { namespace: "e" } })).status as typeof rules;
    expect(elsewhere.resourceRules.some((r) => r.resources.includes("pods"))).toBe(false);
    expect((await review("SelfSubjectReview", alice, {})).status).toEqual({ userInfo: { username: "alice", groups: ["system:authenticated"] } });
  });
});

describe("impersonation", () => {
  const req = (headers: Record<string, string>) => new Request("https://x/api/v1/pods", { headers });
  test("allowed by the impersonate verb on the user; groups, service accounts and system:authenticated as upstream", async () => {
    expect(await impersonatedUser(authorize, alice, req({}))).toBe(alice);
    expect(await impersonatedUser(authorize, alice, req({ "Impersonate-User": "bob" }))).toEqual({ user: "bob", groups: ["system:authenticated"] });
    expect(await impersonatedUser(authorize, admin, req({ "Impersonate-User": "system:serviceaccount:d:robot" }))).toEqual({
      user: "system:serviceaccount:d:robot",
      groups: ["system:serviceaccounts", "system:serviceaccounts:d", "system:authenticated"],
    });
    expect(await impersonatedUser(authorize, admin, req({ "Impersonate-User": "carol", "Impersonate-Group": "a, b" }))).toEqual({ user: "carol", groups: ["a", "b", "system:authenticated"] });
  });

  test("refusals worded as upstream's", async () => {
    expect(await refusal(impersonatedUser(authorize, alice, req({ "Impersonate-User": "carol" })))).toBe(
      '403 users "carol" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
    expect(await refusal(impersonatedUser(authorize, alice, req({ "Impersonate-User": "bob", "Impersonate-Group": "system:masters" })))).toBe(
      '403 groups "system:masters" is forbidden: User "alice" cannot impersonate resource "groups" in API group "" at the cluster scope',
    );
    expect(await refusal(impersonatedUser(authorize, alice, req({ "Impersonate-User": "system:serviceaccount:d:robot" })))).toBe(
      '403 serviceaccounts "robot" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "d"',
    );
    expect(await refusal(impersonatedUser(authorize, admin, req({ "Impersonate-Group": "devs" })))).toBe('400 requested group "devs" without impersonating a user');
  });
});
