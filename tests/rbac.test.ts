// RBAC against a `bramble server` process with the real kubectl: a service account's token is
// refused with kube-apiserver's words until a RoleBinding gives it `view` in one namespace (and
// only there); roles and bindings print as upstream's tables.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { parseJson, startTestServer, type TestServer } from "./helpers/server";

setDefaultTimeout(60_000);

describe("RBAC with kubectl", () => {
  let s: TestServer;
  let token: string;
  const as = (...args: string[]) => s.kubectl("--token", token, ...args);
  const ok = async (...args: string[]) => {
    const r = await s.kubectl(...args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  /** Until the server's index has seen a change, a request may still be judged without it. */
  const eventually = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 100 && !(await check()); i++) await Bun.sleep(50);
  };

  beforeAll(async () => {
    s = await startTestServer();
    await ok("create", "namespace", "team-a");
    await ok("create", "namespace", "team-b");
    await ok("-n", "team-a", "create", "serviceaccount", "robot");
    token = (await ok("-n", "team-a", "create", "token", "robot")).trim();
  });
  afterAll(async () => {
    await s?.cleanup();
  });

  test("a service account may do nothing until bound; then view works in that namespace only", async () => {
    const before = await as("get", "pods", "-n", "team-a");
    expect(before.code).not.toBe(0);
    expect(before.stderr).toContain('Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:team-a:robot" cannot list resource "pods" in API group "" in the namespace "team-a"');

    await ok("-n", "team-a", "create", "rolebinding", "robot-view", "--clusterrole=view", "--serviceaccount=team-a:robot");
    await eventually(async () => (await as("get", "pods", "-n", "team-a")).code === 0);
    expect((await as("get", "pods", "-n", "team-a")).code).toBe(0);
    expect((await as("get", "configmaps", "-n", "team-a")).code).toBe(0);
    const secrets = await as("get", "secrets", "-n", "team-a");
    expect(secrets.stderr).toContain('cannot list resource "secrets" in API group "" in the namespace "team-a"');
    const other = await as("get", "pods", "-n", "team-b");
    expect(other.stderr).toContain('User "system:serviceaccount:team-a:robot" cannot list resource "pods" in API group "" in the namespace "team-b"');
    const write = await as("-n", "team-a", "create", "configmap", "x");
    expect(write.stderr).toContain('configmaps is forbidden: User "system:serviceaccount:team-a:robot" cannot create resource "configmaps" in API group "" in the namespace "team-a"');
  });

  test("tables and validation as upstream's", async () => {
    const wide = await ok("-n", "team-a", "get", "rolebinding", "robot-view", "-o", "wide");
    expect(wide.split("\n")[0]).toMatch(/^NAME\s+ROLE\s+AGE\s+USERS\s+GROUPS\s+SERVICEACCOUNTS$/);
    expect(wide).toMatch(/robot-view\s+ClusterRole\/view\s+\S+\s+team-a\/robot/);
    const roles = await ok("get", "clusterroles", "view", "cluster-admin", "system:discovery");
    expect(roles.split("\n")[0]).toMatch(/^NAME\s+CREATED AT$/);
    expect(roles).toMatch(/\nview\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    const kinds = await ok("api-resources", "--no-headers");
    expect(kinds).toMatch(/\nrolebindings\s+rbac.authorization.k8s.io\/v1\s+true\s+RoleBinding/);
    expect(kinds).toMatch(/\nclusterroles\s+rbac.authorization.k8s.io\/v1\s+false\s+ClusterRole/);
    expect(kinds).toMatch(/\nselfsubjectaccessreviews\s+authorization.k8s.io\/v1\s+false\s+SelfSubjectAccessReview/);
    const view = parseJson(await s.kubectl("get", "clusterrole", "view", "-o", "json"));
    expect(view.rules.some((r: { resources?: string[] }) => r.resources?.includes("pods"))).toBe(true);

    const bad = await s.kubectl("-n", "team-a", "create", "role", "r", "--verb=get", "--resource=pods");
    expect(bad.code).toBe(0);
    const patch = await s.kubectl("-n", "team-a", "patch", "rolebinding", "robot-view", "--type=merge", "-p", '{"roleRef":{"name":"edit"}}');
    expect(patch.code).not.toBe(0);
    expect(patch.stderr).toContain("roleRef: Invalid value:");
    expect(patch.stderr).toContain("cannot change roleRef");
  });

  test("escalation is refused: a role or binding may grant only what its writer holds", async () => {
    // The robot may write roles and bindings in team-a, and holds view there.
    await ok("-n", "team-a", "create", "role", "rbac-writer", "--verb=get,list,create,update,patch,delete", "--resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io");
    await ok("-n", "team-a", "create", "rolebinding", "robot-rbac", "--role=rbac-writer", "--serviceaccount=team-a:robot");
    await eventually(async () => (await as("-n", "team-a", "get", "roles")).code === 0);

    const mine = await as("-n", "team-a", "create", "role", "reader", "--verb=get,list", "--resource=pods");
    expect(mine.stderr).toBe("");
    const more = await as("-n", "team-a", "create", "role", "deleter", "--verb=delete", "--resource=pods");
    expect(more.code).not.toBe(0);
    expect(more.stderr).toContain('roles.rbac.authorization.k8s.io "deleter" is forbidden: user "system:serviceaccount:team-a:robot" (groups=["system:serviceaccounts" "system:serviceaccounts:team-a" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:');
    expect(more.stderr).toContain('{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}');
    const bindEdit = await as("-n", "team-a", "create", "rolebinding", "self-edit", "--clusterrole=edit", "--serviceaccount=team-a:robot");
    expect(bindEdit.code).not.toBe(0);
    expect(bindEdit.stderr).toContain('rolebindings.rbac.authorization.k8s.io "self-edit" is forbidden: user "system:serviceaccount:team-a:robot"');
    // Binding what it holds is allowed.
    expect((await as("-n", "team-a", "create", "rolebinding", "other-view", "--clusterrole=view", "--user=carol")).code).toBe(0);
  });

  test("kubectl auth can-i, can-i --list and whoami, for oneself and with --as", async () => {
    const can = async (...args: string[]) => (await as("auth", "can-i", ...args)).stdout.trim();
    expect(await can("list", "pods", "-n", "team-a")).toBe("yes");
    expect(await can("list", "pods", "-n", "team-b")).toBe("no");
    expect(await can("get", "secrets", "-n", "team-a")).toBe("no");
    expect(await can("get", "/version")).toBe("yes");
    expect((await s.kubectl("auth", "can-i", "delete", "nodes")).stdout.trim()).toBe("yes");

    const list = await as("auth", "can-i", "--list", "-n", "team-a");
    expect(list.code).toBe(0);
    const header = list.stdout.split("\n")[0]!;
    expect(header).toMatch(/^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs$/);
    expect(list.stdout).toMatch(/\npods\s+\[\]\s+\[\]\s+\[get list watch\]/);
    expect(list.stdout).toContain("selfsubjectaccessreviews.authorization.k8s.io");
    expect(list.stdout).toMatch(/\[\/version\]\s+\[\]\s+\[get\]/);

    const me = await as("auth", "whoami");
    expect(me.stdout).toMatch(/Username\s+system:serviceaccount:team-a:robot/);
    expect(me.stdout).toMatch(/Groups\s+\[system:serviceaccounts system:serviceaccounts:team-a system:authenticated\]/);

    // The admin may impersonate anyone; the robot may not.
    const asCarol = await s.kubectl("--as", "carol", "--as-group", "devs", "auth", "whoami");
    expect(asCarol.stdout).toMatch(/Username\s+carol/);
    expect(asCarol.stdout).toMatch(/Groups\s+\[devs system:authenticated\]/);
    expect((await s.kubectl("--as", "carol", "-n", "team-a", "get", "pods")).code).toBe(0); // other-view binds view to carol
    const carolB = await s.kubectl("--as", "carol", "-n", "team-b", "get", "pods");
    expect(carolB.stderr).toContain('pods is forbidden: User "carol" cannot list resource "pods" in API group "" in the namespace "team-b"');
    const asSa = await s.kubectl("--as", "system:serviceaccount:team-a:robot", "auth", "can-i", "list", "pods", "-n", "team-a");
    expect(asSa.stdout.trim()).toBe("yes");
    const denied = await as("--as", "carol", "get", "pods", "-n", "team-a");
    expect(denied.stderr).toContain('users "carol" is forbidden: User "system:serviceaccount:team-a:robot" cannot impersonate resource "users" in API group "" at the cluster scope');
  });
});
