import { describe, expect, test } from "bun:test";
import { formatCredentialTable, grantHint, kubeconfigCommandFromArgs, userKubeconfig } from "./kubeconfig";

const parse = (...args: string[]) => kubeconfigCommandFromArgs(args, { KUBECONFIG: "/admin.kubeconfig" }, "/home/x");

describe("bramble kubeconfig flags", () => {
  test("create: repeated --group, -o, defaults", () => {
    expect(parse("create", "--user", "alice", "--group", "family", "--group=kids", "-o", "/tmp/a", "--ttl", "2h", "--namespace", "family")).toEqual({
      action: "create",
      kubeconfig: "/admin.kubeconfig",
      user: "alice",
      groups: ["family", "kids"],
      ttlSeconds: 7200,
      namespace: "family",
      output: "/tmp/a",
      force: false,
    });
    const d = parse("create", "--user=Alice Smith");
    expect(d).toMatchObject({ user: "Alice Smith", groups: [], ttlSeconds: 365 * 24 * 3600, output: undefined });
    expect(parse("create", "--user", "system:admin", "--group", "system:masters", "--force")).toMatchObject({ force: true });
  });

  test("create: bad input names the flag", () => {
    expect(() => parse("create")).toThrow("--user: is required");
    expect(() => parse("create", "--user", "system:node:n1")).toThrow('--user: user name "system:node:n1" is reserved');
    expect(() => parse("create", "--user", "a", "--group")).toThrow("--group: a value is required");
    expect(() => parse("create", "--user", "a", "--group", "")).toThrow("--group: group name must not be empty");
    expect(() => parse("create", "--user", "a", "--ttl", "0")).toThrow("--ttl: must be at least 1s");
    expect(() => parse("create", "--user", "a", "-o", "x", "--output", "y")).toThrow("--output: given more than once");
    expect(() => parse("create", "--user", "a", "--namespace", "-x")).toThrow("--namespace:");
    expect(() => parse("create", "--user", "a", "--bogus")).toThrow("--bogus: unknown flag");
  });

  test("list and revoke", () => {
    expect(parse("list", "--kubeconfig", "/k")).toEqual({ action: "list", kubeconfig: "/k" });
    expect(parse("revoke", "--user", "alice")).toMatchObject({ action: "revoke", user: "alice", id: undefined });
    expect(parse("revoke", "--id", "0123456789abcdef")).toMatchObject({ action: "revoke", id: "0123456789abcdef" });
    expect(() => parse("revoke", "--user", "a", "--id", "0123456789abcdef")).toThrow("exactly one of --user or --id");
    expect(() => parse("revoke", "--id", "0123")).toThrow("--id:");
    expect(() => parse()).toThrow("a subcommand is required");
  });

  test("the kubeconfig and the table", () => {
    const kc = userKubeconfig({ server: "https://10.0.0.2:6443", caCertPem: "PEM", user: "alice", token: "t", namespace: "family" });
    expect(kc.contexts).toEqual([{ name: "alice@bramble", context: { cluster: "bramble", user: "alice", namespace: "family" } }]);
    expect(kc.users).toEqual([{ name: "alice", user: { token: "t" } }]);
    expect(kc.clusters[0]!.cluster["certificate-authority-data"]).toBe(Buffer.from("PEM").toString("base64"));
    const now = new Date("2026-01-01T00:00:00Z");
    const table = formatCredentialTable(
      [
        { id: "aaaaaaaaaaaaaaaa", user: "alice", groups: ["family", "system:authenticated"], issued: "2025-12-31T00:00:00Z", expires: "2026-02-01T00:00:00Z" },
        { id: "bbbbbbbbbbbbbbbb", user: "bob", groups: ["system:authenticated"], issued: "2025-12-01T00:00:00Z", expires: "2025-12-02T00:00:00Z" },
        { id: "cccccccccccccccc", user: "carol", groups: [], issued: "2025-12-31T00:00:00Z", expires: "2026-02-01T00:00:00Z", revoked: "2025-12-31T01:00:00Z" },
      ],
      now,
    );
    expect(table.split("\n")).toEqual([
      "ID                 USER    GROUPS   EXPIRES                STATUS",
      "aaaaaaaaaaaaaaaa   alice   family   2026-02-01T00:00:00Z   valid",
      "bbbbbbbbbbbbbbbb   bob     <none>   2025-12-02T00:00:00Z   expired",
      "cccccccccccccccc   carol   <none>   2026-02-01T00:00:00Z   revoked 2025-12-31T01:00:00Z",
      "",
    ]);
  });
});

test("the hint after create names a binding kubectl accepts and quotes the user for a shell", () => {
  expect(grantHint("alice", "family")).toBe("no permissions yet; to let them read namespace family: kubectl -n family create rolebinding alice-view --clusterrole=view --user=alice");
  expect(grantHint("Bob O'Neil")).toBe(`no permissions yet; to let them read namespace default: kubectl -n default create rolebinding bob-o-neil-view --clusterrole=view --user='Bob O'\\''Neil'`);
});
