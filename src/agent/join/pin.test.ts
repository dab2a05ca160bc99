import { afterAll, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readKubeconfig, resolveContext } from "../../client/kubeconfig";
import { createLogger } from "../../machinery/log";
import { caCertHash, ensureCa, ensurePki } from "../../server/pki/index";
import { ensureJoined } from "./join";
import { caCertHashOfPem, checkCaPin, pinnedCa } from "./pin";
import { credentialPaths } from "./store";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "bramble-pin-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const SANS = { advertiseAddress: "127.0.0.1", bindAddress: "127.0.0.1", serviceCidr: "10.43.0.0/16" };
// Two clusters' worth of PKI: the real one and an attacker's, each a CA and a serving cert for 127.0.0.1.
const real = await ensurePki(tmp(), SANS);
const attacker = await ensurePki(tmp(), SANS);
const certCount = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;

test("the agent's pin is the server's caCertHash, and a mismatch says both", async () => {
  const ca = await ensureCa(tmp());
  const hash = await caCertHash(ca.cert);
  expect(caCertHashOfPem(ca.certPem)).toBe(hash);
  expect(() => checkCaPin("https://x:6443", ca.certPem, hash.toUpperCase().replace("SHA256", "sha256"))).not.toThrow();
  expect(() => checkCaPin("https://x:6443", ca.certPem, `sha256:${"0".repeat(64)}`)).toThrow(`does not match --ca-cert-hash (expected sha256:${"0".repeat(64)}, the server presented ${hash})`);
});

test("from a bundle, exactly the pinned CA is kept, wherever it sits; the attacker's CA is dropped", () => {
  for (const bundle of [real.caCertPem + attacker.caCertPem, attacker.caCertPem + real.caCertPem, `junk\n${attacker.caCertPem}\n${real.caCertPem}junk`]) {
    const kept = pinnedCa("https://x:6443", bundle, real.caCertHash);
    expect(certCount(kept)).toBe(1);
    expect(new X509Certificate(kept).fingerprint256).toBe(new X509Certificate(real.caCertPem).fingerprint256);
  }
  // A bundle without the pinned CA names what it holds.
  expect(() => pinnedCa("https://x:6443", attacker.caCertPem, real.caCertHash)).toThrow(`the server presented ${attacker.caCertHash}`);
  expect(() => pinnedCa("https://x:6443", "not a certificate", real.caCertHash)).toThrow("the server presented no certificate");
});

test("a certificate with the pinned key that is not a CA is refused", () => {
  const leafPin = caCertHashOfPem(real.servingCertPem);
  expect(() => pinnedCa("https://x:6443", real.servingCertPem + real.caCertPem, leafPin)).toThrow(`${leafPin} on a certificate that is not a CA`);
});

test("after pinning, TLS to a server presenting a certificate signed by the attacker's CA is refused", async () => {
  const impostor = Bun.serve({ port: 0, hostname: "127.0.0.1", tls: { cert: attacker.servingCertPem, key: attacker.servingKeyPem }, fetch: () => new Response("hello") });
  try {
    const url = `https://127.0.0.1:${impostor.port}/`;
    const bundle = real.caCertPem + attacker.caCertPem;
    // Trusting the whole bundle is exactly the hole: the attacker's certificate passes.
    expect(await (await fetch(url, { tls: { ca: bundle } })).text()).toBe("hello");
    const kept = pinnedCa(url, bundle, real.caCertHash);
    expect(fetch(url, { tls: { ca: kept } })).rejects.toThrow();
  } finally {
    impostor.stop(true);
  }
});

test("a join against a server whose /cacerts is a bundle saves only the pinned CA", async () => {
  const bundle = attacker.caCertPem + real.caCertPem;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    tls: { cert: real.servingCertPem, key: real.servingKeyPem },
    fetch: (req) => (new URL(req.url).pathname === "/cacerts" ? new Response(bundle) : Response.json({ kind: "NodeCredential", nodeName: "n1", token: "node.n1.x" })),
  });
  try {
    const dataDir = tmp();
    const creds = await ensureJoined({ server: `https://127.0.0.1:${server.port}`, token: "abcdef.0123456789abcdef", caCertHash: real.caCertHash, nodeName: "n1", dataDir, log: createLogger("test") });
    expect(certCount(creds.caCertPem)).toBe(1);
    const saved = readFileSync(credentialPaths(dataDir).ca, "utf8");
    expect(certCount(saved)).toBe(1);
    expect(caCertHashOfPem(saved)).toBe(real.caCertHash);
    const kubeconfigCa = resolveContext(readKubeconfig(credentialPaths(dataDir).kubeconfig)).caCertPem!;
    expect(certCount(kubeconfigCa)).toBe(1);
    expect(caCertHashOfPem(kubeconfigCa)).toBe(real.caCertHash);
  } finally {
    server.stop(true);
  }
});
