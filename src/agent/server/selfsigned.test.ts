import { expect, test } from "bun:test";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { ipBytes, issueSelfSignedCert, oid } from "./selfsigned";

const serial = Uint8Array.from([0x7f, ...Array(15).fill(0xab)]);

test("a certificate node:crypto (OpenSSL/BoringSSL) parses and verifies: names, validity, usage, its own key", () => {
  const notBefore = new Date("2026-11-25T15:00:00Z");
  const notAfter = new Date("2027-11-25T15:00:00Z");
  const { certPem, keyPem } = issueSelfSignedCert({ commonName: "pi-1@1", dnsNames: ["pi-1", "localhost"], ips: ["192.168.1.20", "127.0.0.1", "fd00::1:2"], notBefore, notAfter, serial });
  const cert = new X509Certificate(certPem);
  expect(cert.subject).toBe("CN=pi-1@1");
  expect(cert.issuer).toBe("CN=pi-1@1");
  expect(cert.serialNumber.toUpperCase()).toBe("7F" + "AB".repeat(15));
  expect(new Date(cert.validFrom).toISOString()).toBe(notBefore.toISOString());
  expect(new Date(cert.validTo).toISOString()).toBe(notAfter.toISOString());
  expect(cert.subjectAltName).toBe("DNS:pi-1, DNS:localhost, IP Address:192.168.1.20, IP Address:127.0.0.1, IP Address:FD00:0:0:0:0:0:1:2");
  expect(cert.checkHost("pi-1")).toBe("pi-1");
  expect(cert.checkIP("192.168.1.20")).toBe("192.168.1.20");
  expect(cert.checkIP("10.0.0.1")).toBeUndefined();
  expect(cert.ca).toBe(false);
  expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
  // Self-signed: its signature verifies with its own public key, which is the key file's.
  expect(cert.verify(cert.publicKey)).toBe(true);
  const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: "spki", format: "der" });
  expect(Buffer.from(cert.publicKey.export({ type: "spki", format: "der" })).equals(fromKey)).toBe(true);
  expect(certPem.split("\n").every((l) => l.length <= 64)).toBe(true);
});

test("dates from 2050 on are GeneralizedTime; a serial with the top bit set stays positive", () => {
  const { certPem } = issueSelfSignedCert({ commonName: "n", dnsNames: ["n"], ips: [], notBefore: new Date("2049-12-31T23:59:59Z"), notAfter: new Date("2051-02-03T04:05:06Z"), serial: Uint8Array.of(0x80, 1) });
  const cert = new X509Certificate(certPem);
  expect(new Date(cert.validFrom).toISOString()).toBe("2049-12-31T23:59:59.000Z");
  expect(new Date(cert.validTo).toISOString()).toBe("2051-02-03T04:05:06.000Z");
  expect(cert.serialNumber.toUpperCase()).toBe("8001");
  expect(cert.verify(cert.publicKey)).toBe(true);
});

test("DER pieces: OIDs with multi-byte arcs, IPv6 in all its spellings", () => {
  expect(Buffer.from(oid("1.2.840.10045.4.3.2")).toString("hex")).toBe("06082a8648ce3d040302");
  expect(Buffer.from(oid("2.5.29.17")).toString("hex")).toBe("0603551d11");
  expect(Buffer.from(ipBytes("10.42.0.1")).toString("hex")).toBe("0a2a0001");
  expect(Buffer.from(ipBytes("::1")).toString("hex")).toBe("0".repeat(31) + "1");
  expect(Buffer.from(ipBytes("fd00::1:2")).toString("hex")).toBe("fd00" + "0".repeat(20) + "00010002");
  expect(Buffer.from(ipBytes("2001:db8:0:0:1:0:0:1")).toString("hex")).toBe("20010db8000000000001000000000001");
  expect(Buffer.from(ipBytes("::ffff:192.168.1.2")).toString("hex")).toBe("0".repeat(20) + "ffffc0a80102");
  expect(() => ipBytes("pi-1")).toThrow("not an IP address");
});
