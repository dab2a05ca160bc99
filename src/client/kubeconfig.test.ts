import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingCommand, requirements } from "../machinery/test-requirements";
import { adminKubeconfig, readKubeconfig, resolveContext, serverUrl, writeKubeconfig } from "./kubeconfig";

const dir = mkdtempSync(join(tmpdir(), "bramble-kc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

test("admin kubeconfig round-trips and names everything default", () => {
  const path = join(dir, "nested", "admin.kubeconfig");
  writeKubeconfig(path, adminKubeconfig({ server: serverUrl("192.168.1.5", 6443), caCertPem: ca, token: "tok" }));
  expect(statSync(path).mode & 0o777).toBe(0o600);
  const kc = readKubeconfig(path);
  expect(kc["current-context"]).toBe("default");
  expect(kc.clusters[0]!.name).toBe("default");
  expect(resolveContext(kc)).toEqual({ server: "https://192.168.1.5:6443", caCertPem: ca, token: "tok", namespace: "default" });
});

test.skipIf(!!requirements("kubectl reads the kubeconfig", missingCommand("kubectl")))("kubectl reads it", () => {
  const path = join(dir, "for-kubectl");
  writeKubeconfig(path, adminKubeconfig({ server: "https://10.0.0.1:6443", caCertPem: ca, token: "tok" }));
  const out = Bun.spawnSync(["kubectl", "--kubeconfig", path, "config", "view", "-o", "jsonpath={.clusters[0].cluster.server} {.current-context} {.users[0].name}"]);
  expect(out.stderr.toString()).toBe("");
  expect(out.stdout.toString()).toBe("https://10.0.0.1:6443 default default");
});

test("IPv6 hosts are bracketed in URLs", () => {
  expect(serverUrl("fd00::1", 6443)).toBe("https://[fd00::1]:6443");
});

test("unknown context is an error", () => {
  const kc = adminKubeconfig({ server: "https://h:1", caCertPem: ca, token: "t" });
  expect(() => resolveContext(kc, "nope")).toThrow(/context "nope" not found/);
});
