import { afterAll, describe, expect, test } from "bun:test";
import { x509 } from "./x509";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { caCertHash, caPaths, certSans, ensurePki, servingPaths, servingSans, tlsDir } from "./index";
import { missingCommand, requirements } from "../../machinery/test-requirements";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "bramble-pki-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const inputs = { advertiseAddress: "192.168.7.10", bindAddress: "0.0.0.0", serviceCidr: "10.43.0.0/16", hostname: "pi-one" };

describe("servingSans", () => {
  test("covers advertise/bind addresses, loopback, host name, kubernetes names and first Service IP", () => {
    const s = servingSans({ ...inputs, bindAddress: "192.168.7.11" });
    expect(s.ips.sort()).toEqual(["10.43.0.1", "127.0.0.1", "192.168.7.10", "192.168.7.11"]);
    expect(s.dns).toEqual(
      expect.arrayContaining(["localhost", "pi-one", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]),
    );
  });
  test("never includes 0.0.0.0", () => {
    expect(servingSans(inputs).ips).not.toContain("0.0.0.0");
  });
});

describe("ensurePki", () => {
  test("first start creates a CA and a serving cert it signed, keys mode 0600", async () => {
    const dataDir = tmp();
    const pki = await ensurePki(dataDir, inputs);
    expect(pki.caCreated).toBe(true);
    expect(pki.servingIssuedBecause).toBe("no serving certificate yet");

    const ca = new x509.X509Certificate(pki.caCertPem);
    const serving = new x509.X509Certificate(pki.servingCertPem);
    expect(ca.publicKey.algorithm).toMatchObject({ name: "ECDSA", namedCurve: "P-256" });
    expect(ca.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(true);
    const years = (ca.notAfter.getTime() - Date.now()) / (365 * 24 * 3600 * 1000);
    expect(years).toBeGreaterThan(9.9);
    expect(await serving.verify({ publicKey: ca.publicKey, signatureOnly: true })).toBe(true);
    expect(serving.issuer).toBe(ca.subject);
    expect(certSans(serving).ips).toEqual(expect.arrayContaining(["192.168.7.10", "127.0.0.1", "10.43.0.1"]));

    const dir = tlsDir(dataDir);
    for (const p of [caPaths(dir).key, servingPaths(dir).key]) expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readFileSync(caPaths(dir).cert, "utf8")).toBe(pki.caCertPem);
  });

  test("restart reuses CA and serving cert; changed advertise address re-issues only the serving cert", async () => {
    const dataDir = tmp();
    const first = await ensurePki(dataDir, inputs);
    const again = await ensurePki(dataDir, inputs);
    expect(again.caCreated).toBe(false);
    expect(again.servingIssuedBecause).toBeUndefined();
    expect(again.caCertPem).toBe(first.caCertPem);
    expect(again.servingCertPem).toBe(first.servingCertPem);
    expect(again.caCertHash).toBe(first.caCertHash);

    const moved = await ensurePki(dataDir, { ...inputs, advertiseAddress: "10.0.0.9" });
    expect(moved.caCertPem).toBe(first.caCertPem);
    expect(moved.servingIssuedBecause).toContain("10.0.0.9");
    expect(certSans(new x509.X509Certificate(moved.servingCertPem)).ips).toContain("10.0.0.9");
  });

  test("a serving cert from another CA is replaced", async () => {
    const a = tmp();
    const b = tmp();
    await ensurePki(a, inputs);
    await ensurePki(b, inputs);
    writeFileSync(servingPaths(tlsDir(a)).cert, readFileSync(servingPaths(tlsDir(b)).cert));
    const pki = await ensurePki(a, inputs);
    expect(pki.servingIssuedBecause).toBe("existing certificate is not signed by the cluster CA");
  });

  test("half a CA is an error, not a silent new CA", async () => {
    const dataDir = tmp();
    await ensurePki(dataDir, inputs);
    rmSync(caPaths(tlsDir(dataDir)).key);
    await expect(ensurePki(dataDir, inputs)).rejects.toThrow(/incomplete cluster CA/);
  });

  test("CA hash is sha256 of the SubjectPublicKeyInfo (kubeadm format)", async () => {
    const dataDir = tmp();
    const pki = await ensurePki(dataDir, inputs);
    expect(pki.caCertHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await caCertHash(new x509.X509Certificate(pki.caCertPem))).toBe(pki.caCertHash);
  });

  test.skipIf(!!requirements("the CA hash against openssl", missingCommand("openssl"), missingCommand("bash")))("the CA hash is what kubeadm's openssl recipe computes", async () => {
    const dataDir = tmp();
    const pki = await ensurePki(dataDir, inputs);
    // pipefail: a failing openssl must fail the pipeline, not hand sha256sum an empty input.
    const openssl = Bun.spawnSync([
      "bash",
      "-o",
      "pipefail",
      "-c",
      `openssl x509 -in ${caPaths(tlsDir(dataDir)).cert} -pubkey -noout | openssl pkey -pubin -outform der | sha256sum`,
    ]);
    expect({ code: openssl.exitCode, stderr: openssl.stderr.toString() }).toEqual({ code: 0, stderr: "" });
    expect(pki.caCertHash).toBe(`sha256:${openssl.stdout.toString().split(" ")[0]}`);
  });

  test("a TLS client trusting only the CA can talk to Bun.serve with the serving cert", async () => {
    const pki = await ensurePki(tmp(), inputs);
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: pki.servingCertPem, key: pki.servingKeyPem },
      fetch: () => new Response("ok"),
    });
    try {
      for (const host of ["127.0.0.1", "localhost"]) {
        const res = await fetch(`https://${host}:${server.port}/`, { tls: { ca: pki.caCertPem } });
        expect(await res.text()).toBe("ok");
      }
    } finally {
      server.stop(true);
    }
  });
});
