import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentConfigFromArgs } from "./agent";
import { defaultClientKubeconfig } from "./kubeconfig-default";
import { tokenCommandFromArgs } from "./token";

const host = { isRoot: false, homeDir: "/home/u", ipv4Addresses: ["192.168.1.20", "10.0.0.5"] };
const HASH = `sha256:${"a".repeat(64)}`;

test("agent flags: defaults from the host, repeatable labels", () => {
  const dir = mkdtempSync(join(tmpdir(), "bramble-agent-flags-"));
  try {
    const cfg = agentConfigFromArgs(
      ["--server", "https://10.0.0.1:6443", "--token", "abcdef.0123456789abcdef", "--ca-cert-hash", HASH, "--data-dir", dir, "--node-label", "a=1", "--node-label=b=2,c=3"],
      host,
      "My-Pi",
    );
    expect(cfg).toMatchObject({ nodeName: "my-pi", nodeIp: "192.168.1.20", labels: { a: "1", b: "2", c: "3" }, dockerSocket: "/var/run/docker.sock", dataDir: dir });
    expect(cfg.connection).toEqual({ kind: "join", server: "https://10.0.0.1:6443", token: "abcdef.0123456789abcdef", caCertHash: HASH });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("agent flag errors name the flag", () => {
  const bad: [string[], string][] = [
    [["--server", "10.0.0.1:6443"], "--server:"],
    [["--token", "K10abc::server:x"], "--token: is neither a bootstrap token"],
    [["--token", `K10${"a".repeat(64)}::server:x`, "--ca-cert-hash", `sha256:${"b".repeat(64)}`], "--ca-cert-hash: \"sha256:bbbb"],
    [["--ca-cert-hash", "sha256:abc"], "--ca-cert-hash:"],
    [["--node-label", "no-equals"], "--node-label:"],
    [["--node-label"], "--node-label: a value is required"],
    [["--node-ip", "::1"], "--node-ip:"],
    [["--bogus", "1"], "--bogus: unknown flag"],
  ];
  for (const [args, msg] of bad) expect(() => agentConfigFromArgs(args, host, "h")).toThrow(msg);
  expect(() => agentConfigFromArgs([], { ...host, ipv4Addresses: [] }, "h")).toThrow("--node-ip: no non-loopback IPv4");
});

test("token subcommands", () => {
  const env = { KUBECONFIG: "/k" };
  expect(tokenCommandFromArgs(["create", "--ttl", "2h", "--print-join-command"], env, "/h")).toMatchObject({ action: "create", ttlSeconds: 7200, printJoinCommand: true, kubeconfig: "/k" });
  expect(tokenCommandFromArgs(["create"], env, "/h").ttlSeconds).toBe(24 * 3600);
  expect(tokenCommandFromArgs(["delete", "--kubeconfig", "/x", "abcdef.0123456789abcdef"], env, "/h")).toMatchObject({ action: "delete", id: "abcdef", kubeconfig: "/x" });
  expect(() => tokenCommandFromArgs(["delete"], env, "/h")).toThrow("the token id to delete is required");
  expect(() => tokenCommandFromArgs(["delete", "ABC"], env, "/h")).toThrow("is not a token id");
  expect(() => tokenCommandFromArgs(["create", "--ttl", "x"], env, "/h")).toThrow("--ttl:");
});

test("client kubeconfig default: $KUBECONFIG, ~/.kube/config, then the server's admin kubeconfig", () => {
  const exists = (set: string[]) => (p: string) => set.includes(p);
  expect(defaultClientKubeconfig({ KUBECONFIG: "/a:/b" }, "/h", exists(["/b"]))).toBe("/b");
  // As kubectl: a set $KUBECONFIG is used alone, even when none of its files exist.
  expect(defaultClientKubeconfig({ KUBECONFIG: "/a:/b" }, "/h", exists(["/h/.kube/config", "/var/lib/bramble/server/admin.kubeconfig"]))).toBe("/a");
  expect(defaultClientKubeconfig({ KUBECONFIG: "" }, "/h", exists(["/h/.kube/config"]))).toBe("/h/.kube/config");
  expect(defaultClientKubeconfig({}, "/h", exists(["/h/.kube/config", "/var/lib/bramble/server/admin.kubeconfig"]))).toBe("/h/.kube/config");
  expect(defaultClientKubeconfig({}, "/h", exists(["/var/lib/bramble/server/admin.kubeconfig"]))).toBe("/var/lib/bramble/server/admin.kubeconfig");
  expect(defaultClientKubeconfig({}, "/h", exists([]))).toBe("/h/.kube/config");
});
