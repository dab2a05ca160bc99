import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { caCertHash, ensureCa } from "../../server/pki/index";
import { caCertHashOfPem, checkCaPin } from "./pin";

test("the agent's pin is the server's caCertHash, and a mismatch says both", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bramble-pin-"));
  try {
    const ca = await ensureCa(dir);
    const hash = await caCertHash(ca.cert);
    expect(caCertHashOfPem(ca.certPem)).toBe(hash);
    expect(() => checkCaPin("https://x:6443", ca.certPem, hash.toUpperCase().replace("SHA256", "sha256"))).not.toThrow();
    expect(() => checkCaPin("https://x:6443", ca.certPem, `sha256:${"0".repeat(64)}`)).toThrow(`does not match --ca-cert-hash (expected sha256:${"0".repeat(64)}, the server presented ${hash})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
