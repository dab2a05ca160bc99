import { describe, expect, test } from "bun:test";
import type { Secret } from "../../api/resources/core/secret";
import type { Ingress } from "../../api/resources/networking/ingress";
import { missingCommand, requirements } from "../../machinery/test-requirements";
import { selfSigned, tlsData } from "./testing";
import { certificateOf, pickCertificate, tlsEntries } from "./tls";

const skip = requirements("ingress TLS tests", missingCommand("openssl"));

describe.skipIf(!!skip)("TLS certificates", () => {
  const shop = selfSigned("shop.test");
  const wild = selfSigned("*.apps.test");
  const other = selfSigned("other.test");
  const secret = (name: string, data: Record<string, string>, type = "kubernetes.io/tls"): Secret => ({ metadata: { name, namespace: "web", resourceVersion: "1" }, type, data });
  const secrets = [
    secret("shop", tlsData(shop)),
    secret("wild", tlsData(wild)),
    secret("mismatch", tlsData({ cert: shop.cert, key: other.key })),
    secret("garbage", { "tls.crt": Buffer.from("not a certificate").toString("base64"), "tls.key": Buffer.from("nope").toString("base64") }),
    secret("opaque", tlsData(other), "Opaque"),
  ];
  const get = (ns: string, name: string) => secrets.find((s) => s.metadata.namespace === ns && s.metadata.name === name);
  const ing = (name: string, created: string, tls: { hosts: string[]; secretName: string }[]): Ingress => ({ metadata: { name, namespace: "web", creationTimestamp: created }, spec: { tls } });

  test("SNI picks the exact host, then a one-label wildcard, else the first certificate", () => {
    const { entries, problems } = tlsEntries(
      [ing("b", "2026-01-02T00:00:00Z", [{ hosts: ["shop.test"], secretName: "wild" }]), ing("a", "2026-01-01T00:00:00Z", [{ hosts: ["shop.test"], secretName: "shop" }, { hosts: ["*.apps.test"], secretName: "wild" }])],
      get,
    );
    expect(problems).toEqual([]);
    expect(entries.map((e) => [e.serverName, e.secret])).toEqual([["shop.test", "web/shop"], ["*.apps.test", "web/wild"]]); // the older Ingress keeps shop.test
    expect(pickCertificate(entries, "SHOP.test")?.secret).toBe("web/shop");
    expect(pickCertificate(entries, "blog.apps.test")?.secret).toBe("web/wild");
    expect(pickCertificate(entries, "a.blog.apps.test")?.secret).toBe("web/shop");
    expect(pickCertificate(entries, undefined)?.secret).toBe("web/shop");
    expect(pickCertificate([], "shop.test")).toBeUndefined();
  });

  test("a bad, mismatched, missing or non-TLS Secret is skipped with the reason", () => {
    const { entries, problems } = tlsEntries(
      [ing("a", "2026-01-01T00:00:00Z", [{ hosts: ["a.test"], secretName: "mismatch" }, { hosts: ["b.test"], secretName: "garbage" }, { hosts: ["c.test"], secretName: "missing" }, { hosts: ["d.test"], secretName: "opaque" }, { hosts: ["shop.test"], secretName: "shop" }])],
      get,
    );
    expect(entries.map((e) => e.serverName)).toEqual(["shop.test"]);
    expect(problems.map((p) => [p.secret, p.message.split(":")[0]])).toEqual([
      ["web/mismatch", "the private key does not match the certificate"],
      ["web/garbage", "invalid certificate or key"],
      ["web/missing", "secret not found"],
      ["web/opaque", "secret is of type Opaque, not kubernetes.io/tls"],
    ]);
    expect(typeof certificateOf(get("web", "shop")!)).toBe("object");
  });
});
