import { expect, test } from "bun:test";
import { checkToken, formatToken, generateToken, hashSecret, parseToken, tokenInfo, tokenSecret } from "./bootstrap-token";

test("tokens are kubeadm-shaped and parse back", () => {
  for (let i = 0; i < 50; i++) {
    const t = generateToken();
    expect(formatToken(t)).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(parseToken(formatToken(t))).toEqual(t);
  }
  for (const bad of ["", "abcdef", "ABCDEF.0123456789abcdef", "abcde.0123456789abcdef", "abcdef.0123456789abcde", "abcdef-0123456789abcdef", " abcdef.0123456789abcdef"]) {
    expect(parseToken(bad)).toBeUndefined();
  }
});

test("the Secret holds the id and a hash, never the secret part", () => {
  const t = { id: "abcdef", secret: "0123456789abcdef" };
  const s = tokenSecret(t, { ttlSeconds: 3600, description: "rack 2", now: new Date("2030-01-01T00:00:00Z") });
  expect(s.metadata.name).toBe("bootstrap-token-abcdef");
  expect(s.type).toBe("bootstrap.kubernetes.io/token");
  expect(JSON.stringify(s)).not.toContain(Buffer.from(t.secret).toString("base64"));
  expect(Buffer.from(s.data!["token-secret-sha256"]!, "base64").toString()).toBe(hashSecret(t.secret));
  expect(tokenInfo(s)).toEqual({ id: "abcdef", expires: new Date("2030-01-01T01:00:00Z"), description: "rack 2", usages: ["authentication", "signing"] });
  expect(tokenInfo(tokenSecret(t, { ttlSeconds: 0 }))?.expires).toBeUndefined();
});

test("checkToken: right secret within its TTL only", () => {
  const t = { id: "abcdef", secret: "0123456789abcdef" };
  const now = new Date("2030-01-01T00:00:00Z");
  const s = tokenSecret(t, { ttlSeconds: 60, now });
  expect(checkToken(s, t, now)).toEqual({ ok: true });
  expect(checkToken(s, { ...t, secret: "0123456789abcdeX" }, now)).toMatchObject({ ok: false, why: "wrong secret" });
  expect(checkToken(s, t, new Date(now.getTime() + 61_000))).toMatchObject({ ok: false, why: "expired" });
  expect(checkToken(undefined, t, now)).toMatchObject({ ok: false });
  expect(checkToken(tokenSecret(t, { ttlSeconds: 0 }), t, new Date("2100-01-01"))).toEqual({ ok: true });
  const noAuth = tokenSecret(t, { ttlSeconds: 0 });
  delete noAuth.data!["usage-bootstrap-authentication"];
  expect(checkToken(noAuth, t)).toMatchObject({ ok: false });
});
