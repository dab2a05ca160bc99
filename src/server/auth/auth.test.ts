import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADMIN, adminTokenPath, createTokenAuthenticator, ensureAdminToken, isPublicPath, unauthorizedResponse } from "./index";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "bramble-auth-"));
  dirs.push(d);
  return d;
};

const req = (authorization?: string) =>
  new Request("https://x/api/v1/pods", { headers: authorization ? { authorization } : {} });

describe("token authenticator", () => {
  const auth = createTokenAuthenticator([{ token: "s3cret-token", user: ADMIN }]);

  test("accepts the admin token", () => {
    expect(auth(req("Bearer s3cret-token"))).toEqual(ADMIN);
    expect(auth(req("bearer   s3cret-token"))).toEqual(ADMIN);
  });

  test("rejects missing, wrong, prefixed or differently-sized tokens and other schemes", () => {
    for (const h of [undefined, "Bearer wrong", "Bearer s3cret-toke", "Bearer s3cret-token2", "Basic czNjcmV0LXRva2Vu", "Bearer", "s3cret-token"]) {
      expect(auth(req(h))).toBeUndefined();
    }
  });
});

test("public paths are only the health and join endpoints", () => {
  for (const p of ["/healthz", "/readyz", "/livez", "/readyz/ping", "/cacerts", "/v1-bramble/join"]) expect(isPublicPath(p)).toBe(true);
  for (const p of ["/", "/api", "/version", "/healthzz", "/api/v1/healthz"]) expect(isPublicPath(p)).toBe(false);
});

test("401 is a metav1.Status", async () => {
  const res = unauthorizedResponse();
  expect(res.status).toBe(401);
  expect(await res.json()).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
});

describe("token files", () => {
  test("admin token is created once (mode 0600) and reused", () => {
    const d = tmp();
    const a = ensureAdminToken(d);
    expect(a.created).toBe(true);
    expect(a.token).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(adminTokenPath(d)).mode & 0o777).toBe(0o600);
    const b = ensureAdminToken(d);
    expect(b).toEqual({ token: a.token, created: false });
  });
});
