import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureServingCert, servingCertPaths, whyStale } from "./tls";

const dir = mkdtempSync(join(tmpdir(), "bramble-agent-tls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("issued once, reused while it names the node's addresses, re-issued when the IP changes", async () => {
  const first = await ensureServingCert(dir, { nodeName: "pi-1", ips: ["192.168.1.20"] });
  expect(first.issuedBecause).toBe("none stored");
  expect(statSync(servingCertPaths(dir).key).mode & 0o777).toBe(0o600);
  const again = await ensureServingCert(dir, { nodeName: "pi-1", ips: ["192.168.1.20"] });
  expect(again.issuedBecause).toBeUndefined();
  expect(again.certPem).toBe(first.certPem);
  // Loopback is always named, so the API server can reach an agent on its own machine.
  expect(whyStale(first.certPem, { nodeName: "pi-1", ips: ["127.0.0.1"] }, new Date())).toBeUndefined();
  const moved = await ensureServingCert(dir, { nodeName: "pi-1", ips: ["192.168.1.21"] });
  expect(moved.issuedBecause).toBe("the stored certificate does not name 192.168.1.21");
  expect(whyStale(moved.certPem, { nodeName: "pi-1", ips: [] }, new Date(Date.now() + 340 * 86_400_000))).toBe("the stored certificate expires soon");
  expect(whyStale("garbage", { nodeName: "pi-1", ips: [] }, new Date())).toBe("the stored certificate does not parse");
});
