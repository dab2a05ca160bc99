// A self-signed ECDSA P-256 server certificate, DER-encoded here by hand (RFC 5280) and signed
// with node:crypto. @peculiar/x509 does this for the server's PKI, but loading it (with
// reflect-metadata, tsyringe and the asn1 schema modules) costs ~22 MB of RSS that never goes
// away, which an agent on its first start cannot afford (an agent's whole budget is 60 MB). The certificate
// is small and fixed in shape, so the encoder below only knows what it needs.
import { generateKeyPairSync, sign } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";

export interface SelfSignedOptions {
  commonName: string;
  dnsNames: string[];
  ips: string[];
  notBefore: Date;
  notAfter: Date;
  /** Positive, at most 20 bytes (RFC 5280). */
  serial: Uint8Array;
}

// --- DER, the few types a certificate uses -----------------------------------------------------

function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(contents);
  const n = body.length;
  let len: number[];
  if (n < 0x80) len = [n];
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = [0x80 | bytes.length, ...bytes];
  }
  return Buffer.concat([Uint8Array.of(tag, ...len), body]);
}

const seq = (...items: Uint8Array[]) => tlv(0x30, ...items);
const set = (...items: Uint8Array[]) => tlv(0x31, ...items);
const explicit = (n: number, item: Uint8Array) => tlv(0xa0 | n, item);
const octets = (b: Uint8Array) => tlv(0x04, b);
/** A BIT STRING of whole bytes, or with `unused` low bits of the last byte unused. */
const bits = (b: Uint8Array, unused = 0) => tlv(0x03, Uint8Array.of(unused), b);
const TRUE = Uint8Array.of(0x01, 0x01, 0xff);

/** A non-negative INTEGER from big-endian bytes: a leading zero keeps the top bit from meaning "negative". */
function uint(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Uint8Array.of(0), v]) : v);
}

export function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a! + b!];
  for (const n of rest) {
    const base128: number[] = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) base128.unshift(0x80 | (v & 0x7f));
    out.push(...base128);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** UTCTime through 2049, GeneralizedTime from 2050 on, as RFC 5280 4.1.2.5 requires. */
function time(d: Date): Uint8Array {
  const iso = d.toISOString(); // 2026-11-25T15:07:27.123Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "") + "Z"; // 20261125150727Z
  const year = d.getUTCFullYear();
  return year < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), "latin1")) : tlv(0x18, Buffer.from(digits, "latin1"));
}

/** An IP address's bytes (4 for IPv4, 16 for IPv6). */
export function ipBytes(ip: string): Uint8Array {
  if (isIPv4(ip)) return Uint8Array.from(ip.split(".").map(Number));
  if (!isIPv6(ip)) throw new Error(`not an IP address: ${ip}`);
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split(".").map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const [head, tail] = text.split("::");
  const groups = (s: string | undefined) => (s ? s.split(":") : []);
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

// --- the certificate ----------------------------------------------------------------------------

const ECDSA_WITH_SHA256 = seq(oid("1.2.840.10045.4.3.2"));
const name = (cn: string) => seq(set(seq(oid("2.5.4.3"), tlv(0x0c, Buffer.from(cn, "utf8")))));
const extension = (id: string, critical: boolean, value: Uint8Array) => seq(oid(id), ...(critical ? [TRUE] : []), octets(value));

export function issueSelfSignedCert(o: SelfSignedOptions): { certPem: string; keyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const subjectAltNames = seq(
    ...o.dnsNames.map((d) => tlv(0x82, Buffer.from(d, "latin1"))), // [2] dNSName
    ...o.ips.map((ip) => tlv(0x87, ipBytes(ip))), // [7] iPAddress
  );
  const tbs = seq(
    explicit(0, uint(Uint8Array.of(2))), // v3
    uint(o.serial),
    ECDSA_WITH_SHA256,
    name(o.commonName),
    seq(time(o.notBefore), time(o.notAfter)),
    name(o.commonName),
    spki,
    explicit(
      3,
      seq(
        extension("2.5.29.19", true, seq()), // basicConstraints: not a CA
        extension("2.5.29.15", true, bits(Uint8Array.of(0x80), 7)), // keyUsage: digitalSignature
        extension("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.1"))), // extKeyUsage: serverAuth
        extension("2.5.29.17", false, subjectAltNames),
      ),
    ),
  );
  // node:crypto signs ECDSA in DER (ECDSA-Sig-Value), the form a certificate carries.
  const cert = seq(tbs, ECDSA_WITH_SHA256, bits(sign("sha256", tbs, privateKey)));
  const base64 = Buffer.from(cert).toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return {
    certPem: `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
  };
}
